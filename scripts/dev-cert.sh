#!/bin/sh
# A local CA and a certificate for localhost / 127.0.0.1 / ::1, for TLS in development:
#   make dev-cert && TLS_CERTFILE=var/tls/localhost.pem TLS_KEYFILE=var/tls/localhost.key make run
# Trust var/tls/ca.pem in the client (curl --cacert var/tls/ca.pem). Not for production.
set -eu
dir="${1:-var/tls}"
days="${DEV_CERT_DAYS:-30}"
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=authserver development CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$dir/localhost.key" -out "$dir/localhost.csr" 2>/dev/null
cat > "$dir/localhost.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$dir/localhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days "$days" -extfile "$dir/localhost.ext" -out "$dir/localhost.pem" \
    2>/dev/null
rm -f "$dir/localhost.csr" "$dir/localhost.ext" "$dir/ca.srl"
chmod 644 "$dir/ca.pem" "$dir/localhost.pem"
echo "wrote $dir/ca.pem (trust this), $dir/localhost.pem and $dir/localhost.key"
