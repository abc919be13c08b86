"""SSL contexts for DICOM TLS (PS3.15 Annex B) with pynetdicom's ``tls_args``.

Kept separate so the client, the storage SCP and the tests build contexts the same way: TLS 1.2+, peer
verification always on (a DICOM node without a verifiable certificate is refused, never silently accepted).
"""

from __future__ import annotations

import ssl

from hsg_workstation.errors import ConfigError
from hsg_workstation.pacs.nodes import TlsSettings


def _base_context(purpose: ssl.Purpose, tls: TlsSettings, role: str) -> ssl.SSLContext:
    """A default context trusting ``ca_file``; a file that is not a PEM certificate is a ConfigError naming it
    (``ssl`` would otherwise raise a bare ``SSLError`` deep inside an association)."""
    try:
        return ssl.create_default_context(purpose, cafile=tls.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{role} TLS: cannot load CA file {tls.ca_file!r}: {exc}") from None


def client_context(tls: TlsSettings) -> ssl.SSLContext:
    """Context for an SCU association: verify the server against ``ca_file``; present our cert if given."""
    ctx = _base_context(ssl.Purpose.SERVER_AUTH, tls, "client")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = bool(tls.verify_hostname)
    ctx.verify_mode = ssl.CERT_REQUIRED
    _load_own_cert(ctx, tls, "client")
    return ctx


def server_context(tls: TlsSettings, *, require_client_cert: bool = True) -> ssl.SSLContext:
    """Context for our storage SCP: our cert/key; clients must present a certificate signed by ``ca_file``."""
    if not (tls.cert_file and tls.key_file):
        raise ConfigError("local TLS: the listener needs cert_file and key_file")
    ctx = _base_context(ssl.Purpose.CLIENT_AUTH, tls, "server")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_NONE
    _load_own_cert(ctx, tls, "server")
    return ctx


def _load_own_cert(ctx: ssl.SSLContext, tls: TlsSettings, role: str) -> None:
    if not tls.cert_file:
        return
    try:
        ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"{role} TLS: cannot load certificate {tls.cert_file!r} / key {tls.key_file!r}: {exc}"
        ) from None


def check_tls_files(tls: TlsSettings, where: str, *, server: bool) -> None:
    """Load the CA / certificate / key as an association would, so a settings form or the CLI refuses a wrong
    file, a key that does not match the certificate, or a non-PEM file *now*: ConfigError naming ``where``
    (e.g. ``node 'pacs'`` or ``local``) and the file."""
    if not tls.enabled:
        return
    try:
        (server_context if server else client_context)(tls)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
