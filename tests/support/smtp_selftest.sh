#!/usr/bin/env bash
# Self-test for the Python SMTP test server (smtp_server.py) and the cert
# maker (make_cert.py): runs tests/setup.sh, starts the server in each mode
# and with each injected fault, talks to it with Python's smtplib (trusting
# the generated ca.pem, strict X.509 checks), and checks the replies and the
# files it writes.  Last line: "N passed, N failed"; exit status 1 on failure.
#
#   bash tests/support/smtp_selftest.sh [-v]     (-v: show server stderr logs)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
verbose=${1:-}

py=$(bash "$here/../setup.sh" </dev/null | sed -n 's/^AIE_TEST_PYTHON=//p' | tail -n 1)
if [ -z "$py" ] || [ ! -x "$py" ]; then
    echo "setup.sh did not yield a python"
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/aie-smtp-selftest.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1${2:+: $2}"; }
# expect NAME EXPECTED ACTUAL: pass when ACTUAL equals EXPECTED.
expect() { if [ "$3" = "$2" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }
# check NAME CMD...: pass when CMD succeeds.
check() { local n=$1; shift; if "$@"; then ok "$n"; else fail "$n"; fi; }

"$py" "$here/make_cert.py" "$work/certs" || { echo "make_cert.py failed"; echo "0 passed, 1 failed"; exit 1; }
ca=$work/certs/ca.pem
check "make_cert wrote ca.pem, server.pem, server.key" \
    test -s "$ca" -a -s "$work/certs/server.pem" -a -s "$work/certs/server.key"

# --- the client ---------------------------------------------------------------
# Prints one line summarising the SMTP exchange, e.g.
#   "mail=250 rcpt=250,450 data=250"   "auth=535 5.7.8"   "mail=530"
#   "data=disconnected"   "connect=ssl-error"
cat >"$work/client.py" <<'EOF'
import argparse, smtplib, ssl, sys
p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--tls", choices=["none", "starttls", "tls"], default="none")
p.add_argument("--ca")
p.add_argument("--user"); p.add_argument("--password"); p.add_argument("--mech", default="PLAIN")
p.add_argument("--from", dest="sender", default="sender@example.com")
p.add_argument("--to", action="append", default=[])
p.add_argument("--msg", required=True)
a = p.parse_args()
msg = open(a.msg, "rb").read()
ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl.create_default_context()
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
stage, out = "connect", []
try:
    if a.tls == "tls":
        s = smtplib.SMTP_SSL(a.host, a.port, context=ctx, timeout=10)
    else:
        s = smtplib.SMTP(a.host, a.port, timeout=10)
    stage = "ehlo"; s.ehlo()
    if a.tls == "starttls":
        stage = "starttls"; s.starttls(context=ctx); s.ehlo()
    if a.user is not None:
        stage = "auth"; s.user, s.password = a.user, a.password
        code, resp = s.auth(a.mech, getattr(s, "auth_" + a.mech.lower()), initial_response_ok=True)
        out.append(f"auth={code}")
    stage = "mail"; code, resp = s.mail(a.sender)
    if code != 250:
        print(f"mail={code}"); sys.exit(0)
    stage = "rcpt"; codes = [s.rcpt(r)[0] for r in (a.to or ["rcpt@example.com"])]
    out.append("rcpt=" + ",".join(map(str, codes)))
    stage = "data"; code, resp = s.data(msg)
    out.append(f"data={code} {resp.decode()}")
    s.quit()
    print(" ".join(out))
except smtplib.SMTPAuthenticationError as e:
    print(f"auth={e.smtp_code} {e.smtp_error.decode().split()[0]}")
except smtplib.SMTPDataError as e:
    print(" ".join(out + [f"data={e.smtp_code}"]))
except smtplib.SMTPRecipientsRefused as e:
    print("rcpt=refused")
except ssl.SSLError as e:
    print(f"{stage}=ssl-error")
except (smtplib.SMTPServerDisconnected, ConnectionError) as e:
    print(" ".join(out + [f"{stage}=disconnected"]))
EOF

# A message with a leading-dot line (dot-stuffing), 8-bit UTF-8 and CRLFs.
printf 'From: sender@example.com\r\nTo: rcpt@example.com\r\nSubject: selftest\r\n\r\nhello\r\n.leading dot\r\n..two dots\r\nunicod\xc3\xa9\r\n' >"$work/msg.eml"

client() { "$py" "$work/client.py" --msg "$work/msg.eml" --ca "$ca" "$@" 2>&1 | tail -n 1; }

# --- server control -------------------------------------------------------------
# start NAME ARGS...: starts a server in $work/NAME; sets PORT, OUT, SPID, SDIR.
start() {
    local name=$1; shift
    SDIR=$work/$name; OUT=$SDIR/out; PORT=; mkdir -p "$SDIR"
    "$py" "$here/smtp_server.py" --port-file "$SDIR/port" --out "$OUT" \
        --cert "$work/certs/server.pem" --key "$work/certs/server.key" \
        --max-seconds 120 $verbose_flag "$@" >"$SDIR/stdout" 2>"$SDIR/stderr" &
    SPID=$!; pids+=("$SPID")
    local i
    for i in $(seq 1 100); do
        [ -s "$SDIR/port" ] && { PORT=$(cat "$SDIR/port"); return 0; }
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    fail "$name: server did not start" "$(cat "$SDIR/stderr")"
    return 1
}
# stop: SIGTERM the current server; passes when it exits 0 within 5 s.
stop() {
    local name=$1 i rc
    kill -TERM "$SPID" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SPID" 2>/dev/null; then
        fail "$name: server still running 5 s after SIGTERM"; kill -KILL "$SPID"; return
    fi
    wait "$SPID"; rc=$?
    expect "$name: exits 0 on SIGTERM" 0 "$rc"
    if [ -n "$verbose" ]; then
        sed "s/^/    [$name] /" "$SDIR/stderr" >&2
    else
        check "$name: printed nothing (stdout and stderr empty)" \
            test ! -s "$SDIR/stdout" -a ! -s "$SDIR/stderr"
    fi
}
verbose_flag=; [ "$verbose" = -v ] && verbose_flag=--verbose

# json NNNN: prints "mail_from|rcpt_tos comma-joined|auth_user|peer-is-loopback"
json() {
    "$py" -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("%s|%s|%s|%s" % (d["mail_from"], ",".join(d["rcpt_tos"]), d["auth_user"],
      d["peer"].startswith("127.0.0.1:") and sorted(d) == ["auth_user","mail_from","peer","rcpt_tos"]))' "$OUT/$1.json"
}
ls_out() { (cd "$OUT" 2>/dev/null && ls | tr '\n' ' ' | sed 's/ $//'); }
ALL_OK="auth=235 rcpt=250 data=250 2.0.0 OK"
OK="rcpt=250 data=250 2.0.0 OK"

# --- plain ----------------------------------------------------------------------
if start plain --mode plain; then
    check "plain: port file holds a port number" grep -qxE '[0-9]+' "$SDIR/port"
    expect "plain: send" "$OK" "$(client --port "$PORT")"
    check "plain: 0001.eml is the DATA bytes exactly" cmp -s "$work/msg.eml" "$OUT/0001.eml"
    expect "plain: 0001.json" "sender@example.com|rcpt@example.com|None|True" "$(json 0001)"
    expect "plain: second message" "rcpt=250,250 data=250 2.0.0 OK" "$(client --port "$PORT" --to a@example.com --to b@example.com)"
    expect "plain: 0002.json has both rcpts" "sender@example.com|a@example.com,b@example.com|None|True" "$(json 0002)"
    expect "plain: only the four files, no temp files left" "0001.eml 0001.json 0002.eml 0002.json" "$(ls_out)"
    stop plain
fi

# --- auth (plain transport) -------------------------------------------------------
if start auth --mode auth --user alice --password 's3cret!'; then
    expect "auth: PLAIN with right password" "$ALL_OK" "$(client --port "$PORT" --user alice --password 's3cret!')"
    expect "auth: 0001.json auth_user" "sender@example.com|rcpt@example.com|alice|True" "$(json 0001)"
    expect "auth: LOGIN with right password" "$ALL_OK" "$(client --port "$PORT" --user alice --password 's3cret!' --mech LOGIN)"
    expect "auth: PLAIN wrong password -> 535" "auth=535 5.7.8" "$(client --port "$PORT" --user alice --password wrong)"
    expect "auth: LOGIN wrong user -> 535" "auth=535 5.7.8" "$(client --port "$PORT" --user bob --password 's3cret!' --mech LOGIN)"
    expect "auth: no AUTH -> MAIL 530" "mail=530" "$(client --port "$PORT")"
    expect "auth: only accepted messages saved" "0001.eml 0001.json 0002.eml 0002.json" "$(ls_out)"
    stop auth
fi

# --- starttls ---------------------------------------------------------------------
if start starttls --mode starttls; then
    expect "starttls: send via 127.0.0.1 (IP SAN)" "$OK" "$(client --port "$PORT" --tls starttls)"
    expect "starttls: send via localhost (DNS SAN)" "$OK" "$(client --port "$PORT" --tls starttls --host localhost)"
    expect "starttls: MAIL without STARTTLS -> 530" "mail=530" "$(client --port "$PORT")"
    expect "starttls: client without ca.pem rejects the cert" "starttls=ssl-error" \
        "$("$py" "$work/client.py" --msg "$work/msg.eml" --port "$PORT" --tls starttls 2>&1 | tail -n 1)"
    check "starttls: 0002.eml is the DATA bytes exactly" cmp -s "$work/msg.eml" "$OUT/0002.eml"
    stop starttls
fi

# --- implicit tls -----------------------------------------------------------------
if start tls --mode tls; then
    expect "tls: send via 127.0.0.1" "$OK" "$(client --port "$PORT" --tls tls)"
    expect "tls: send via localhost" "$OK" "$(client --port "$PORT" --tls tls --host localhost)"
    expect "tls: 0001.json" "sender@example.com|rcpt@example.com|None|True" "$(json 0001)"
    stop tls
fi

# --- starttls + auth --------------------------------------------------------------
if start starttls-auth --mode starttls --auth --user alice --password pw; then
    expect "starttls+auth: send" "$ALL_OK" "$(client --port "$PORT" --tls starttls --user alice --password pw)"
    expect "starttls+auth: 0001.json auth_user" "sender@example.com|rcpt@example.com|alice|True" "$(json 0001)"
    expect "starttls+auth: wrong password -> 535" "auth=535 5.7.8" "$(client --port "$PORT" --tls starttls --user alice --password nope)"
    expect "starttls+auth: no AUTH -> MAIL 530" "mail=530" "$(client --port "$PORT" --tls starttls)"
    stop starttls-auth
fi

# --- tls + auth -------------------------------------------------------------------
if start tls-auth --mode tls --auth --user alice --password pw; then
    expect "tls+auth: send (LOGIN)" "$ALL_OK" "$(client --port "$PORT" --tls tls --user alice --password pw --mech LOGIN)"
    expect "tls+auth: 0001.json auth_user" "sender@example.com|rcpt@example.com|alice|True" "$(json 0001)"
    stop tls-auth
fi

# --- --drop-after-data ----------------------------------------------------------------
if start drop0 --drop-after-data 0; then
    expect "drop-after-data 0: first DATA -> dropped, no reply" "rcpt=250 data=disconnected" "$(client --port "$PORT")"
    expect "drop-after-data 0: dropped message not saved" "" "$(ls_out)"
    expect "drop-after-data 0: next message accepted" "$OK" "$(client --port "$PORT")"
    expect "drop-after-data 0: saved as 0001" "0001.eml 0001.json" "$(ls_out)"
    stop drop0
fi
if start drop0-tls --mode tls --auth --drop-after-data 0; then
    expect "drop-after-data 0 (tls+auth): dropped" "auth=235 rcpt=250 data=disconnected" \
        "$(client --port "$PORT" --tls tls --user user --password secret)"
    expect "drop-after-data 0 (tls+auth): next accepted" "$ALL_OK" \
        "$(client --port "$PORT" --tls tls --user user --password secret)"
    expect "drop-after-data 0 (tls+auth): saved as 0001, default user 'user'" \
        "sender@example.com|rcpt@example.com|user|True" "$(json 0001)"
    stop drop0-tls
fi
if start drop1-tls --mode starttls --drop-after-data 1; then
    expect "drop-after-data 1 (starttls): first accepted" "$OK" "$(client --port "$PORT" --tls starttls)"
    expect "drop-after-data 1 (starttls): second dropped" "rcpt=250 data=disconnected" "$(client --port "$PORT" --tls starttls)"
    expect "drop-after-data 1 (starttls): third accepted" "$OK" "$(client --port "$PORT" --tls starttls)"
    expect "drop-after-data 1 (starttls): files" "0001.eml 0001.json 0002.eml 0002.json" "$(ls_out)"
    stop drop1-tls
fi

# --- recipient and DATA faults ----------------------------------------------------
if start rcpt-faults --fail-rcpt busy@example.com --reject-rcpt nobody@example.com; then
    expect "fail-rcpt: 450 for that address only" "rcpt=450,250 data=250 2.0.0 OK" \
        "$(client --port "$PORT" --to busy@example.com --to ok@example.com)"
    expect "fail-rcpt: json lists only the accepted rcpt" "sender@example.com|ok@example.com|None|True" "$(json 0001)"
    expect "reject-rcpt: 550" "rcpt=550,250 data=250 2.0.0 OK" \
        "$(client --port "$PORT" --to nobody@example.com --to ok@example.com)"
    expect "fail-rcpt: address match ignores case" "rcpt=450,550,250 data=250 2.0.0 OK" \
        "$(client --port "$PORT" --to BUSY@Example.com --to Nobody@example.com --to ok@example.com)"
    reply=$("$py" - "$PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10); s.ehlo(); s.mail("a@example.com")
print(*[" ".join([str(c), m.decode()]) for c, m in (s.rcpt("busy@example.com"), s.rcpt("nobody@example.com"))], sep="|")
s.quit()
EOF
)
    expect "rcpt faults: reply texts" "450 4.2.1 mailbox busy|550 5.1.1 user unknown" "$reply"
    stop rcpt-faults
fi
if start reject-data --reject-data; then
    expect "reject-data: 554 5.6.0" "rcpt=250 data=554 5.6.0 message rejected" "$(client --port "$PORT")"
    expect "reject-data: nothing saved" "" "$(ls_out)"
    stop reject-data
fi

# --- lifetime and startup errors ----------------------------------------------------
if start maxsec --max-seconds 1; then
    for i in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SPID" 2>/dev/null; then
        fail "max-seconds 1: still running after 5 s"
    else
        wait "$SPID"; expect "max-seconds 1: exits 0 by itself" 0 "$?"
    fi
fi
mkdir -p "$work/badcert"
"$py" "$here/smtp_server.py" --port-file "$work/badcert/port" --out "$work/badcert/out" \
    --mode tls --cert "$work/nope.pem" --key "$work/nope.key" >"$work/badcert/stdout" 2>"$work/badcert/stderr"
rc=$?
check "bad cert path: non-zero exit, error on stderr, no port file, stdout empty" \
    test "$rc" -ne 0 -a -s "$work/badcert/stderr" -a ! -e "$work/badcert/port" -a ! -s "$work/badcert/stdout"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
