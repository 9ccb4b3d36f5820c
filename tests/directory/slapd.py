"""A real OpenLDAP ``slapd`` (Debian's) on a free loopback port, for the directory tests.

Its configuration (``slapd.conf``, the mdb backend), database and TLS files live in a private
temporary directory; the database is seeded with ``slapadd`` before the server starts, and the
server offers StartTLS with a certificate from a test CA made here with ``cryptography``.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-for-tests"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret-for-tests"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PASSWORDS = {
    "alice": "alice-wonderland-pass",
    "bob": "bob-builder-pass",
    "carol": "carol-singer-pass",
    "dave": "dave-diver-pass",
    "erin": "erin-pass-word",
}
GROUP_MEMBERS = {
    "platform-admins": ["alice"],
    "staff": ["alice", "bob", "carol", "erin"],
}


def missing_reason() -> str | None:
    for tool in (SLAPD, SLAPADD):
        if not Path(tool).exists():
            return (
                f"OpenLDAP's {Path(tool).name} is not installed (apt-get install slapd ldap-utils)"
            )
    if not (SCHEMAS / "inetorgperson.schema").exists() or not (MODULES / "back_mdb.so").exists():
        return "slapd's schemas or its mdb backend module are missing"
    return None


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def _seed() -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {READER_PASSWORD}",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for uid, password in PASSWORDS.items():
        blocks.append(
            f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {uid.title()} Example\nsn: Example\nmail: {uid}@example.org\n"
            f"userPassword: {password}"
        )
    for group, members in GROUP_MEMBERS.items():
        # groupOfNames needs a member: the service account stands in for an emptied group.
        lines = [f"dn: cn={group},{GROUPS}", "objectClass: groupOfNames", f"cn: {group}"]
        lines.append(f"member: {READER_DN}")
        lines += [f"member: {user_dn(uid)}" for uid in members]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 and localhost: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authserver test LDAP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_pem_key(server_key))
    return paths


def _config(root: Path, tls: tuple[Path, Path, Path]) -> str:
    ca, cert, key = tls
    schemas = "\n".join(
        f"include {SCHEMAS / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis")
    )
    return f"""{schemas}
pidfile {root}/slapd.pid
modulepath {MODULES}
moduleload back_mdb
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {root}/db
maxsize 10485760
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Slapd:
    url: str
    ldaps_url: str
    ca_file: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(root: Path) -> Slapd:
    (root / "db").mkdir()
    tls = make_tls(root)
    conf = root / "slapd.conf"
    conf.write_text(_config(root, tls))
    (root / "seed.ldif").write_text(_seed())
    subprocess.run(
        [SLAPADD, "-f", str(conf), "-l", str(root / "seed.ldif")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    port, tls_port = _free_port(), _free_port()
    url, ldaps_url = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"
    log = (root / "slapd.log").open("wb")
    process = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", f"{url}/ {ldaps_url}/", "-d", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited: {(root / 'slapd.log').read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return Slapd(url, ldaps_url, str(tls[0]), process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("slapd did not start listening within 15 s")
