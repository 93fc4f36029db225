"""Test certificates for the adapter, made with the `openssl` command (Debian's openssl).

make_certs(dir) writes, with P-256 keys:

  ca.crt / ca.key                 the serving CA (signs the adapter's and the fake
                                  Kubernetes API's certificate)
  server.crt / server.key         CN=127.0.0.1, SAN IP:127.0.0.1 and DNS:localhost,
                                  extendedKeyUsage serverAuth
  front-proxy-ca.crt / .key       the aggregator's front-proxy CA: the adapter's --client-ca
  client.crt / client.key         CN=front-proxy-client, signed by the front-proxy CA,
                                  extendedKeyUsage clientAuth
  rogue-client.crt / .key         CN=front-proxy-client too, but signed by the serving CA:
                                  a certificate the adapter must not accept
  not-a-ca.pem                    a private key: a --client-ca that is no certificate

Standard library only; every file is world-readable (the tests run as root, nothing here
is secret).
"""

import os
import shutil
import subprocess
from pathlib import Path


class CertError(RuntimeError):
    pass


def _openssl():
    path = shutil.which("openssl") or "/usr/bin/openssl"
    if not Path(path).exists():
        raise CertError("the openssl command is missing: apt-get install openssl")
    return path


def _run(*args, cwd):
    r = subprocess.run([_openssl(), *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    if r.returncode != 0:
        raise CertError(f"openssl {' '.join(args)} failed:\n{r.stdout}")
    return r.stdout


def _key(dir, name):
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", f"{name}.key", cwd=dir)


def _ca(dir, name, cn):
    _key(dir, name)
    _run("req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.crt", "-days", "3",
         "-subj", f"/CN={cn}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         cwd=dir)


def _leaf(dir, name, cn, ca, extensions):
    _key(dir, name)
    _run("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=dir)
    ext = Path(dir) / f"{name}.ext"
    ext.write_text("\n".join(extensions) + "\n")
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
         "-CAcreateserial", "-out", f"{name}.crt", "-days", "3", "-extfile", ext.name, cwd=dir)


class Certs:
    def __init__(self, dir):
        d = Path(dir)
        self.dir = d
        self.ca = d / "ca.crt"
        self.server_cert = d / "server.crt"
        self.server_key = d / "server.key"
        self.front_proxy_ca = d / "front-proxy-ca.crt"
        self.client_cert = d / "client.crt"
        self.client_key = d / "client.key"
        self.rogue_cert = d / "rogue-client.crt"
        self.rogue_key = d / "rogue-client.key"
        self.not_a_ca = d / "not-a-ca.pem"


def make_certs(dir):
    d = Path(dir)
    d.mkdir(parents=True, exist_ok=True)
    _ca(d, "ca", "pulse-test-ca")
    _ca(d, "front-proxy-ca", "pulse-test-front-proxy-ca")
    _leaf(d, "server", "127.0.0.1", "ca", [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ])
    client_ext = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
    ]
    _leaf(d, "client", "front-proxy-client", "front-proxy-ca", client_ext)
    _leaf(d, "rogue-client", "front-proxy-client", "ca", client_ext)
    shutil.copyfile(d / "client.key", d / "not-a-ca.pem")
    for p in d.iterdir():
        os.chmod(p, 0o644)
    return Certs(d)
