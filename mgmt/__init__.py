"""Management of the server: audited services and selectors shared by the REST API
(``mgmt.api``, issue 7) and, later, the admin console."""
