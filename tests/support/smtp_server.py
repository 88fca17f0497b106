#!/usr/bin/env python3
"""Real SMTP server for aie's integration tests (built on aiosmtpd).

The server binds 127.0.0.1 on a port the OS picks, writes that port to
--port-file, and saves every accepted message into --out.  Flags inject the
failures the Rust tests need (busy/unknown recipients, rejected DATA, and a
connection dropped right after DATA, whose outcome the client cannot know).

    smtp_server.py --port-file FILE --out DIR
                   [--mode plain|auth|starttls|tls] [--auth]
                   [--user U --password P] [--cert PEM --key PEM]
                   [--fail-rcpt ADDR]... [--reject-rcpt ADDR]...
                   [--drop-after-data N] [--reject-data]
                   [--max-seconds S] [--verbose]

Files written:
  FILE          the port number and a newline, written atomically once the
                server is listening (wait for it to appear, then connect)
  DIR/NNNN.eml  the message content of DATA exactly as the client meant it
                (bytes as received, CRLF kept, only SMTP dot-stuffing undone)
  DIR/NNNN.json {"mail_from", "rcpt_tos", "peer", "auth_user"}, renamed into
                place only after NNNN.eml, so a reader that sees it sees both

NNNN counts 0001, 0002, ... (continuing after any numbers already in DIR).
Nothing is printed on stdout; errors go to stderr, and so does logging with
--verbose.  SIGTERM/SIGINT stop the server with exit status 0, and so does
reaching --max-seconds, so a leaked server never lingers.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import ssl
import sys
import warnings

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        "smtp_server.py: aiosmtpd is not installed; run tests/setup.sh and use "
        "the python it prints (AIE_TEST_PYTHON)\n"
    )
    sys.exit(2)

log = logging.getLogger("aie.smtp_server")

# Replies for the injected failures.
REPLY_FAIL_RCPT = "450 4.2.1 mailbox busy"
REPLY_REJECT_RCPT = "550 5.1.1 user unknown"
REPLY_REJECT_DATA = "554 5.6.0 message rejected"
REPLY_OK = "250 2.0.0 OK"


def write_atomic(path, data):
    """Write bytes to path via a hidden temp file in the same dir + rename."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def first_free_number(out_dir):
    """1 + the highest NNNN already in out_dir (so a restart never overwrites)."""
    highest = 0
    for name in os.listdir(out_dir):
        m = re.fullmatch(r"(\d+)\.(eml|json)", name)
        if m:
            highest = max(highest, int(m.group(1)))
    return highest + 1


def format_peer(peer):
    """('127.0.0.1', 54321) -> '127.0.0.1:54321'."""
    if isinstance(peer, (tuple, list)) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return None if peer is None else str(peer)


class Handler:
    """aiosmtpd hooks: recipient faults, DATA faults, and saving messages."""

    def __init__(self, args):
        self.out_dir = args.out
        self.fail_rcpt = {a.lower() for a in args.fail_rcpt}
        self.reject_rcpt = {a.lower() for a in args.reject_rcpt}
        self.drop_after_data = args.drop_after_data
        self.reject_data = args.reject_data
        self.on_data_rename = args.on_data_rename  # [src, dst] or None
        self.accepted = 0  # messages saved by this process
        self.dropped = False  # the one --drop-after-data drop has happened
        self.next_number = first_free_number(self.out_dir)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in self.fail_rcpt:
            log.info("RCPT %s: injected %s", address, REPLY_FAIL_RCPT)
            return REPLY_FAIL_RCPT
        if key in self.reject_rcpt:
            log.info("RCPT %s: injected %s", address, REPLY_REJECT_RCPT)
            return REPLY_REJECT_RCPT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return REPLY_OK

    async def handle_DATA(self, server, session, envelope):
        # By the time this hook runs aiosmtpd has read the whole DATA section.
        if (
            self.drop_after_data is not None
            and not self.dropped
            and self.accepted == self.drop_after_data
        ):
            # "Unknown outcome after DATA": drop the connection without any
            # reply and without saving.  Only this one message is affected.
            self.dropped = True
            log.info("DATA read; dropping the connection without a reply")
            server.transport.abort()
            # connection_lost() cancels this coroutine; the sleep is a backstop.
            await asyncio.sleep(60)
            return "421 4.3.0 connection dropped"  # never reaches the client
        if self.on_data_rename:
            # "The owner moves the item while the send is in flight": once, before the
            # reply, so the client is still waiting for it.
            src, dst = self.on_data_rename
            self.on_data_rename = None
            os.rename(src, dst)
            log.info("DATA: renamed %s -> %s", src, dst)
        if self.reject_data:
            log.info("DATA: injected %s", REPLY_REJECT_DATA)
            return REPLY_REJECT_DATA
        self.save(session, envelope)
        return REPLY_OK

    def save(self, session, envelope):
        n = self.next_number
        self.next_number += 1
        self.accepted += 1
        base = os.path.join(self.out_dir, f"{n:04d}")
        auth_user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            auth_user = session.auth_data.login.decode("utf-8", "replace")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": format_peer(session.peer),
            "auth_user": auth_user,
        }
        # original_content is bytes (decode_data=False): exactly what was sent.
        write_atomic(base + ".eml", bytes(envelope.original_content))
        write_atomic(
            base + ".json", (json.dumps(meta, ensure_ascii=False) + "\n").encode()
        )
        log.info("saved %s.eml (%s -> %s)", base, envelope.mail_from, envelope.rcpt_tos)


def make_authenticator(user, password):
    """AUTH PLAIN/LOGIN accepting only user/password; anything else -> 535 5.7.8."""
    want = (user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and (auth_data.login, auth_data.password) == want
        ):
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False with no message makes aiosmtpd reply
        # "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)

    return authenticator


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="SMTP server for aie's integration tests (aiosmtpd).",
    )
    p.add_argument("--port-file", required=True,
                   help="file to write the chosen port to (atomically)")
    p.add_argument("--out", required=True,
                   help="directory for NNNN.eml / NNNN.json of accepted messages")
    p.add_argument("--mode", choices=["plain", "auth", "starttls", "tls"],
                   default="plain",
                   help="transport: plain, starttls (required), tls (implicit); "
                        "'auth' is a shortcut for plain + --auth")
    p.add_argument("--auth", action="store_true",
                   help="require AUTH PLAIN/LOGIN with --user/--password")
    p.add_argument("--user", default="user", help="AUTH user name (default: user)")
    p.add_argument("--password", default="secret",
                   help="AUTH password (default: secret)")
    p.add_argument("--cert", help="server certificate PEM (starttls/tls)")
    p.add_argument("--key", help="server private key PEM (starttls/tls)")
    p.add_argument("--fail-rcpt", action="append", default=[], metavar="ADDRESS",
                   help="reply '450 4.2.1 mailbox busy' to RCPT TO this address "
                        "(repeatable)")
    p.add_argument("--reject-rcpt", action="append", default=[], metavar="ADDRESS",
                   help="reply '550 5.1.1 user unknown' to RCPT TO this address "
                        "(repeatable)")
    p.add_argument("--drop-after-data", type=int, metavar="N",
                   help="after N accepted messages, read the next DATA fully and "
                        "drop the connection without a reply (once)")
    p.add_argument("--reject-data", action="store_true",
                   help="reply '554 5.6.0' at the end of every DATA")
    p.add_argument("--on-data-rename", nargs=2, metavar=("SRC", "DST"),
                   help="rename SRC to DST once, when the first DATA arrives")
    p.add_argument("--max-seconds", type=float, default=300,
                   help="exit by itself after this many seconds (default 300)")
    p.add_argument("--verbose", action="store_true", help="log to stderr")
    args = p.parse_args(argv)

    if args.mode == "auth":
        args.mode, args.auth = "plain", True
    if args.mode in ("starttls", "tls") and not (args.cert and args.key):
        p.error(f"--mode {args.mode} needs --cert and --key")
    if args.drop_after_data is not None and args.drop_after_data < 0:
        p.error("--drop-after-data must be >= 0")
    if args.max_seconds <= 0:
        p.error("--max-seconds must be > 0")
    return args


def setup_logging(verbose):
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG, stream=sys.stderr,
            format="%(asctime)s smtp_server[%(process)d] %(name)s: %(message)s",
        )
        return
    # Quiet by default: aiosmtpd warns about AUTH without TLS on every
    # connection, and asyncio logs client-side TLS failures; tests don't
    # want that noise.  Real errors still reach stderr via main().
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = Handler(args)

    tls_context = None
    if args.mode in ("starttls", "tls"):
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    smtp_kwargs = dict(
        hostname="localhost",  # avoids socket.getfqdn(), which can stall
        ident="aie-test-smtp",
        enable_SMTPUTF8=True,
        decode_data=False,
        loop=loop,
    )
    if args.auth:
        smtp_kwargs.update(
            auth_required=True,
            # STARTTLS mode already refuses AUTH before TLS; implicit TLS is
            # invisible to aiosmtpd's check, and plain+auth must work in clear.
            auth_require_tls=False,
            authenticator=make_authenticator(args.user, args.password),
        )
    if args.mode == "starttls":
        smtp_kwargs.update(tls_context=tls_context, require_starttls=True)

    server = await loop.create_server(
        lambda: SMTP(handler, **smtp_kwargs),
        host="127.0.0.1",
        port=0,
        ssl=tls_context if args.mode == "tls" else None,
    )
    port = server.sockets[0].getsockname()[1]
    write_atomic(args.port_file, f"{port}\n".encode())
    log.info("listening on 127.0.0.1:%d (mode=%s auth=%s)", port, args.mode, args.auth)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
        log.info("signal received; stopping")
    except asyncio.TimeoutError:
        log.info("--max-seconds (%s) reached; stopping", args.max_seconds)
    server.close()
    # Don't wait for open client connections; the process is exiting anyway.
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=1)
    except asyncio.TimeoutError:
        pass


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.verbose)
    try:
        os.makedirs(args.out, exist_ok=True)
        asyncio.run(serve(args))
    except Exception as e:  # startup failures: bad cert, unwritable paths...
        sys.stderr.write(f"smtp_server.py: error: {type(e).__name__}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
