"""``hsg-workstation pacs echo|find|get|move|send|listen|nodes``: the PACS client from the command line.

Exit codes scripts can rely on:

====  ===========================================================================================
0     success (echo answered; find ran, even with no match; every instance retrieved / sent)
1     failure (cannot connect, association rejected, timeout, peer failure status, nothing retrieved)
2     usage error (bad or missing arguments, invalid AE title / port, unknown node name)
3     partial (some instances retrieved / sent, others failed; or cancelled; or find truncated)
130   interrupted (Ctrl-C)
====  ===========================================================================================

Why ~600 lines in one module: seven sub-commands that share the node / TLS / DICOMweb argument handling and the
exit-code rules above; each sub-command is one short function over ``pacs/``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hsg_workstation.config import resolve_data_dir
from hsg_workstation.errors import ConfigError, PacsError
from hsg_workstation.pacs.nodes import (
    DicomWebNode,
    LocalNode,
    NodeConfig,
    RemoteNode,
    TlsSettings,
    load_nodes,
    save_nodes,
)
from hsg_workstation.pacs.tls import check_tls_files
from hsg_workstation.pacs.types import Progress, RetrieveResult, StudyQuery, Timeouts

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


# What ``pacs --help`` prints: the module docstring's table in plain text (argparse shows text, not reST).
PACS_DESCRIPTION = """Query/retrieve, send and receive DICOM with a PACS or modality.

exit codes:
  0    success (echo answered; find ran, even with no match; every instance retrieved / sent)
  1    failure (cannot connect, association rejected, timeout, peer failure status, nothing retrieved)
  2    usage error (bad or missing arguments, invalid AE title / port, unknown node name)
  3    partial (some instances retrieved / sent, others failed; or cancelled; or find truncated)
  130  interrupted (Ctrl-C)"""


class UsageError(Exception):
    pass


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "pacs",
        help="talk to a PACS: echo, find, get, move, send, listen, nodes",
        description=PACS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)

    def remote(sp: argparse.ArgumentParser) -> None:
        g = sp.add_argument_group("remote node (either --node, or --host/--port/--aec)")
        g.add_argument("--node", help="name of a node in nodes.json")
        g.add_argument("--host", help="host name or address")
        g.add_argument("--port", type=int, help="DICOM port")
        g.add_argument("--aec", help="called AE title")
        g.add_argument("--tls", action="store_true", help="use DICOM TLS")
        g.add_argument("--ca", default="", help="CA certificate (PEM) to verify the peer")
        g.add_argument("--cert", default="", help="our certificate (PEM)")
        g.add_argument("--key", default="", help="our private key (PEM)")
        w = sp.add_argument_group("DICOMweb node (instead of --host/--port/--aec)")
        w.add_argument("--dicomweb", metavar="URL", help="DICOMweb base URL, e.g. https://pacs/dicom-web")
        w.add_argument("--user", default="", help="HTTP basic auth user (with --password-file)")
        w.add_argument("--password-file", default="", help="file holding the HTTP basic auth password")
        w.add_argument("--token-file", default="", help="file holding a bearer token")
        w.add_argument("--ca-bundle", default="", help="CA bundle (PEM) to verify an https server")
        w.add_argument("--client-cert", default="", help="client certificate (PEM) for https")
        w.add_argument("--client-key", default="", help="client private key (PEM) for https")
        sp.add_argument("--aet", help="our calling AE title (default: local AE from nodes.json)")
        sp.add_argument("--timeout", type=float, default=60.0, help="DIMSE timeout in seconds (default 60)")
        sp.add_argument("--connect-timeout", type=float, default=10.0, help="TCP/ACSE timeout (default 10)")
        sp.add_argument("--json", action="store_true", help="machine-readable output on stdout")

    sp = sub.add_parser("echo", help="C-ECHO (verify the connection)")
    remote(sp)
    sp.set_defaults(func=_echo)

    sp = sub.add_parser("find", help="C-FIND (Study Root) at study or series level")
    remote(sp)
    sp.add_argument("--level", choices=("study", "series"), default="study")
    sp.add_argument("--patient-name", default="", help="wildcards * and ? allowed, e.g. 'DOE*'")
    sp.add_argument("--patient-id", default="")
    sp.add_argument("--date", default="", help="YYYYMMDD or range YYYYMMDD-YYYYMMDD (either end open)")
    sp.add_argument("--modality", default="")
    sp.add_argument("--accession", default="")
    sp.add_argument("--description", default="")
    sp.add_argument("--study-uid", default="", help="required for --level series")
    sp.add_argument("--max", type=int, default=5000, help="stop (C-CANCEL) after this many matches")
    sp.set_defaults(func=_find)

    for name, helptext in (("get", "retrieve by C-GET (no listener needed)"), ("move", "retrieve by C-MOVE")):
        sp = sub.add_parser(name, help=helptext)
        remote(sp)
        sp.add_argument("study_uid", help="Study Instance UID")
        sp.add_argument("--series", default=None, help="only this Series Instance UID")
        sp.add_argument(
            "--missing", action="store_true", help="retrieve again: only instances not held locally"
        )
        if name == "get":
            sp.add_argument("--out", help="write files into this folder instead of the local database")
        else:
            sp.add_argument(
                "--dest",
                help="move to another AE title; default: our own AE, received by a temporary storage SCP",
            )
            sp.add_argument("--listen-port", type=int, help="port of the temporary SCP (default: local port)")
        sp.set_defaults(func=_get if name == "get" else _move)

    sp = sub.add_parser("send", help="C-STORE files or folders to a node")
    remote(sp)
    sp.add_argument("paths", nargs="+", help="DICOM files or folders (searched recursively)")
    sp.set_defaults(func=_send)

    sp = sub.add_parser("listen", help="run the storage SCP into the local database until Ctrl-C")
    sp.add_argument("--aet", help="our AE title (default: local AE from nodes.json)")
    sp.add_argument("--port", type=int, help="port (default: local port from nodes.json)")
    sp.add_argument("--bind", default=None, help="address to bind (default from nodes.json; '' = all)")
    sp.add_argument("--allow-any", action="store_true", help="accept any calling AE title")
    sp.add_argument("--allow", action="append", default=[], metavar="AE", help="also accept this calling AE")
    sp.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    sp.add_argument("--json", action="store_true", help="one JSON line per received instance")
    sp.set_defaults(func=_listen)

    sp = sub.add_parser("nodes", help="show or edit nodes.json")
    nsub = sp.add_subparsers(dest="nodes_command", metavar="NODES_ACTION", required=True)
    np_ = nsub.add_parser("list", help="list local AE and remote nodes")
    np_.add_argument("--json", action="store_true")
    np_.set_defaults(func=_nodes_list)
    np_ = nsub.add_parser("add", help="add or replace a remote node")
    np_.add_argument("name")
    np_.add_argument("--aec", required=True)
    np_.add_argument("--host", required=True)
    np_.add_argument("--port", type=int, required=True)
    np_.add_argument("--tls", action="store_true")
    np_.add_argument("--ca", default="")
    np_.add_argument("--cert", default="")
    np_.add_argument("--key", default="")
    np_.set_defaults(func=_nodes_add)
    np_ = nsub.add_parser("add-web", help="add or replace a DICOMweb node")
    np_.add_argument("name")
    np_.add_argument("--url", dest="dicomweb", required=True, help="DICOMweb base URL")
    np_.add_argument("--qido-prefix", default="")
    np_.add_argument("--wado-prefix", default="")
    np_.add_argument("--stow-prefix", default="")
    np_.add_argument("--user", default="")
    np_.add_argument("--password-file", default="")
    np_.add_argument("--token-file", default="")
    np_.add_argument("--ca-bundle", default="")
    np_.add_argument("--client-cert", default="")
    np_.add_argument("--client-key", default="")
    np_.set_defaults(func=_nodes_add_web)
    np_ = nsub.add_parser("remove", help="remove a remote node")
    np_.add_argument("name")
    np_.set_defaults(func=_nodes_remove)
    np_ = nsub.add_parser("local", help="set our AE title / listener port / allow-any")
    np_.add_argument("--aet")
    np_.add_argument("--port", type=int)
    np_.add_argument("--bind")
    np_.add_argument("--allow-any", choices=("yes", "no"))
    np_.add_argument("--listener", choices=("yes", "no"), help="start the storage listener with the app")
    np_.add_argument(
        "--tls", choices=("yes", "no"), help="DICOM TLS for the listener (needs --ca/--cert/--key)"
    )
    np_.add_argument("--ca", help="CA certificate (PEM) that signed the senders' certificates")
    np_.add_argument("--cert", help="the listener's certificate (PEM)")
    np_.add_argument("--key", help="the listener's private key (PEM)")
    np_.set_defaults(func=_nodes_local)


# -- helpers -----------------------------------------------------------------------------------------------


def _guard(handler: Any) -> Any:
    """Turn usage / config / network errors into the documented exit codes with one clear line."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except (UsageError, ConfigError) as exc:
            print(f"usage error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except PacsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - a script gets exit 1 and one line, never a traceback
            print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_FAILURE

    run.__doc__ = handler.__doc__
    return run


def _config(args: argparse.Namespace) -> tuple[Path, NodeConfig]:
    data_dir = resolve_data_dir(args.data_dir)
    return data_dir, load_nodes(data_dir)


def _web_node(args: argparse.Namespace) -> DicomWebNode:
    if args.user and args.token_file:
        raise UsageError("give either --user/--password-file or --token-file, not both")
    if bool(args.user) != bool(args.password_file):
        raise UsageError("HTTP basic auth needs both --user and --password-file")
    auth = "basic" if args.user else "bearer" if args.token_file else "none"
    return DicomWebNode(
        name="command-line",
        base_url=args.dicomweb,
        auth=auth,  # type: ignore[arg-type]
        username=args.user,
        password_file=args.password_file,
        token_file=args.token_file,
        ca_bundle=args.ca_bundle,
        client_cert=args.client_cert,
        client_key=args.client_key,
    )


def _client(args: argparse.Namespace) -> Any:
    """A DIMSE client or a DICOMweb client — the same calls and results, chosen by the node's kind."""
    from hsg_workstation.pacs.client import DicomClient

    _, cfg = _config(args)
    given = [bool(args.node), bool(args.host or args.port or args.aec), bool(getattr(args, "dicomweb", None))]
    if sum(given) > 1:
        raise UsageError("give one of --node, --host/--port/--aec or --dicomweb")
    timeouts = Timeouts(
        connect=args.connect_timeout,
        acse=args.connect_timeout,
        dimse=args.timeout,
        network=max(args.timeout * 2, 30.0),
        stall=max(args.timeout * 2, 30.0),
    )
    web: DicomWebNode | None = None
    if getattr(args, "dicomweb", None):
        web = _web_node(args)
    elif args.node and isinstance(cfg.get_any(args.node), DicomWebNode):
        web = cfg.get_any(args.node)  # type: ignore[assignment]
    if web is not None:
        from hsg_workstation.pacs.dicomweb import DicomWebClient

        return DicomWebClient(web, timeouts)
    if args.node:
        node = cfg.get(args.node)
    elif args.host and args.port and args.aec:
        tls = TlsSettings(bool(args.tls), args.ca, args.cert, args.key)
        node = RemoteNode("command-line", args.aec, args.host, args.port, tls)
    else:
        raise UsageError("which node? give --node NAME, all of --host, --port and --aec, or --dicomweb URL")
    return DicomClient(node.validated(), args.aet or cfg.local.ae_title, timeouts)


@contextmanager
def _cancel_on_sigint() -> Iterator[threading.Event]:
    """Ctrl-C during a retrieve / send sets the cancel Event (C-CANCEL); a second Ctrl-C interrupts for real.
    The previous SIGINT handler is restored afterwards."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        print("\ncancelling (C-CANCEL)...", file=sys.stderr)
        cancel.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_printer(enabled: bool) -> Any:
    last = [0.0]

    def show(p: Progress) -> None:
        now = time.monotonic()
        if not enabled or now - last[0] < 0.2:
            return
        last[0] = now
        rem = "?" if p.remaining is None else p.remaining
        print(
            f"\rcompleted {p.completed}  remaining {rem}  failed {p.failed}  warning {p.warning}  "
            f"received {p.received}",
            end="",
            file=sys.stderr,
            flush=True,
        )

    return show


def _retrieve_exit(result: RetrieveResult, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"{result.status}: {result.message}")
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return {"complete": EXIT_OK, "failed": EXIT_FAILURE}.get(result.status, EXIT_PARTIAL)


# -- actions -----------------------------------------------------------------------------------------------


@_guard
def _echo(args: argparse.Namespace) -> int:
    client = _client(args)
    seconds = client.echo()
    web = isinstance(client.node, DicomWebNode)
    label = client.node.base_url if web else client.node.ae_title
    if args.json:
        print(json.dumps({"ok": True, "seconds": round(seconds, 4), "node": label}))
    elif web:
        print(f"QIDO-RS search on {label}: ok ({seconds * 1000:.0f} ms)")
    else:
        print(
            f"C-ECHO to {client.node.ae_title}@{client.node.host}:{client.node.port}: ok ({seconds * 1000:.0f} ms)"
        )
    return EXIT_OK


@_guard
def _find(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.level == "series":
        if not args.study_uid:
            raise UsageError("--level series needs --study-uid")
        series = client.find_series(args.study_uid, modality=args.modality)
        if args.json:
            print(json.dumps([s.to_json() for s in series], indent=2))
        else:
            for s in series:
                print(
                    f"{s.series_number if s.series_number is not None else '-':>4}  {s.modality:<3} "
                    f"{s.number_of_instances if s.number_of_instances is not None else '?':>5} inst  "
                    f"{s.series_description}  {s.series_instance_uid}"
                )
            print(f"{len(series)} series")
        return EXIT_OK
    query = StudyQuery(
        patient_name=args.patient_name,
        patient_id=args.patient_id,
        study_date=args.date,
        modality=args.modality,
        accession_number=args.accession,
        study_description=args.description,
        study_instance_uid=args.study_uid,
    )
    result = client.find_studies(query, max_results=args.max)
    if args.json:
        print(
            json.dumps(
                {"matches": [m.to_json() for m in result.matches], "truncated": result.truncated}, indent=2
            )
        )
    else:
        for m in result.matches:
            print(
                f"{m.study_date:<8} {m.patient_name:<24} {m.patient_id:<12} {'/'.join(m.modalities):<6} "
                f"{m.number_of_instances if m.number_of_instances is not None else '?':>5} inst  "
                f"{m.accession_number:<10} {m.study_description}  {m.study_instance_uid}"
            )
        print(
            f"{len(result.matches)} stud{'y' if len(result.matches) == 1 else 'ies'}"
            + (f" ({result.message})" if result.truncated else "")
        )
    return EXIT_PARTIAL if result.truncated else EXIT_OK


@_guard
def _get(args: argparse.Namespace) -> int:
    from hsg_workstation.pacs.dicomweb import DicomWebClient
    from hsg_workstation.pacs.retrieve import RetrieveMethod, RetrieveRequest, retrieve

    client = _client(args)
    show = _progress_printer(sys.stderr.isatty() and not args.json)
    if args.out:
        from hsg_workstation.pacs.sinks import FolderSink

        sink: Any = FolderSink(args.out)
    else:
        from hsg_workstation.dicom_io.database import LocalDatabase

        sink = LocalDatabase(resolve_data_dir(args.data_dir))
    request = RetrieveRequest(
        args.study_uid,
        RetrieveMethod.WADO if isinstance(client, DicomWebClient) else RetrieveMethod.GET,
        None if args.missing else args.series,
        missing_only=bool(args.missing),
    )
    try:
        with _cancel_on_sigint() as cancel:
            result = retrieve(client, request, sink, progress=show, cancel=cancel)
    finally:
        close = getattr(sink, "close", None)
        if callable(close):
            close()
    return _retrieve_exit(result, args.json)


@_guard
def _move(args: argparse.Namespace) -> int:
    from hsg_workstation.pacs.retrieve import RetrieveMethod, RetrieveRequest, retrieve

    client = _client(args)
    if isinstance(client.node, DicomWebNode):
        raise UsageError("C-MOVE is a DIMSE service; with a DICOMweb node use 'pacs get'")
    show = _progress_printer(sys.stderr.isatty() and not args.json)
    data_dir, cfg = _config(args)
    if args.dest and args.missing:
        raise UsageError("--missing needs our own SCP as destination (leave out --dest)")
    if args.dest:
        with _cancel_on_sigint() as cancel:
            result = client.move(
                args.study_uid, args.dest, series_uid=args.series, progress=show, cancel=cancel
            )
        return _retrieve_exit(result, args.json)
    from hsg_workstation.dicom_io.database import LocalDatabase

    local = LocalNode(
        ae_title=args.aet or cfg.local.ae_title,
        port=args.listen_port if args.listen_port is not None else cfg.local.port,
        bind_address=cfg.local.bind_address,
    )
    request = RetrieveRequest(
        args.study_uid,
        RetrieveMethod.MOVE,
        None if args.missing else args.series,
        missing_only=bool(args.missing),
    )
    with LocalDatabase(data_dir) as db, _cancel_on_sigint() as cancel:
        result = retrieve(client, request, db, local=local, progress=show, cancel=cancel)
    return _retrieve_exit(result, args.json)


def _expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


@_guard
def _send(args: argparse.Namespace) -> int:
    client = _client(args)
    files = _expand(args.paths)
    if not files:
        raise UsageError("no files to send")
    with _cancel_on_sigint() as cancel:
        outcomes = client.send(files, cancel=cancel)
    ok = sum(o.ok for o in outcomes)
    if args.json:
        print(json.dumps([o.__dict__ for o in outcomes], indent=2))
    else:
        for o in outcomes:
            print(f"{'ok    ' if o.ok else 'FAILED'} {o.path}: {o.message}")
        print(f"{ok} of {len(outcomes)} sent")
    if ok == len(outcomes):
        return EXIT_OK
    return EXIT_PARTIAL if ok else EXIT_FAILURE


@_guard
def _listen(args: argparse.Namespace) -> int:
    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.pacs.scp import StorageSCP

    data_dir, cfg = _config(args)
    local = LocalNode(
        ae_title=args.aet or cfg.local.ae_title,
        port=cfg.local.port if args.port is None else args.port,
        bind_address=cfg.local.bind_address if args.bind is None else args.bind,
        allow_any_calling_ae=args.allow_any or cfg.local.allow_any_calling_ae,
        tls=cfg.local.tls,
    )

    def on_instance(calling: str, sop_uid: str, outcome: str) -> None:
        if args.json:
            print(
                json.dumps({"calling_ae": calling, "sop_instance_uid": sop_uid, "outcome": outcome}),
                flush=True,
            )
        else:
            print(f"{calling}: {sop_uid} {outcome}", flush=True)

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalDatabase(data_dir) as db:
        scp = StorageSCP(
            local, db, allowed_calling_aes={*cfg.allowed_calling_aes(), *args.allow}, on_instance=on_instance
        )
        scp.start()
        print(
            f"listening as {local.ae_title} on port {scp.port}; Ctrl-C to stop", file=sys.stderr, flush=True
        )
        try:
            stop.wait(args.duration)
        except KeyboardInterrupt:
            pass
        finally:
            scp.stop()
    print(f"stopped; {scp.received_count} instance(s) stored", file=sys.stderr)
    return EXIT_OK


@_guard
def _nodes_list(args: argparse.Namespace) -> int:
    _, cfg = _config(args)
    if args.json:
        print(json.dumps(cfg.to_json(), indent=2))
        return EXIT_OK
    lo = cfg.local
    print(f"local: {lo.ae_title} port {lo.port}{' allow-any' if lo.allow_any_calling_ae else ''}")
    for n in cfg.nodes:
        print(f"{n.name}: {n.ae_title}@{n.host}:{n.port}{' TLS' if n.tls.enabled else ''}")
    for w in cfg.web_nodes:
        print(f"{w.name}: DICOMweb {w.base_url}{'' if w.auth == 'none' else ' auth ' + w.auth}")
    return EXIT_OK


@_guard
def _nodes_add_web(args: argparse.Namespace) -> int:
    data_dir, cfg = _config(args)
    node = _web_node(args)
    from dataclasses import replace

    node = replace(
        node,
        name=args.name,
        qido_prefix=args.qido_prefix,
        wado_prefix=args.wado_prefix,
        stow_prefix=args.stow_prefix,
    ).validated()
    path = save_nodes(data_dir, cfg.with_web_node(node))
    print(f"saved {node.name} (DICOMweb {node.base_url}) in {path}")
    return EXIT_OK


@_guard
def _nodes_add(args: argparse.Namespace) -> int:
    data_dir, cfg = _config(args)
    node = RemoteNode(
        args.name, args.aec, args.host, args.port, TlsSettings(args.tls, args.ca, args.cert, args.key)
    ).validated()
    check_tls_files(node.tls, f"node {node.name!r}", server=False)
    path = save_nodes(data_dir, cfg.with_node(node))
    print(f"saved {node.name} in {path}")
    return EXIT_OK


@_guard
def _nodes_remove(args: argparse.Namespace) -> int:
    data_dir, cfg = _config(args)
    save_nodes(data_dir, cfg.without_node(args.name))
    print(f"removed {args.name}")
    return EXIT_OK


@_guard
def _nodes_local(args: argparse.Namespace) -> int:
    from dataclasses import replace

    data_dir, cfg = _config(args)
    lo = cfg.local
    lo = replace(
        lo,
        ae_title=args.aet if args.aet is not None else lo.ae_title,
        port=args.port if args.port is not None else lo.port,
        bind_address=args.bind if args.bind is not None else lo.bind_address,
        allow_any_calling_ae=(args.allow_any == "yes") if args.allow_any else lo.allow_any_calling_ae,
        listener_enabled=(args.listener == "yes") if args.listener else lo.listener_enabled,
        tls=TlsSettings(
            (args.tls == "yes") if args.tls else lo.tls.enabled,
            lo.tls.ca_file if args.ca is None else args.ca,
            lo.tls.cert_file if args.cert is None else args.cert,
            lo.tls.key_file if args.key is None else args.key,
        ),
    )
    lo = lo.validated()
    check_tls_files(lo.tls, "local", server=True)
    save_nodes(data_dir, replace(cfg, local=lo))
    print(f"local: {lo.ae_title} port {lo.port}")
    return EXIT_OK
