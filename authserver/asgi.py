"""ASGI entry point (the WSGI one in wsgi.py is what gunicorn serves)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authserver.settings")

application = get_asgi_application()
