# shellcheck shell=bash
# IMAP test rig: a private Dovecot (Debian's dovecot-imapd) on a free loopback port, IMAPS only.
#
# Source it, then:
#   dovecot_rig_start DIR   # generates a throwaway CA and a server certificate for 127.0.0.1 /
#                           # localhost, a passwd-file with one test user, a maildir under
#                           # DIR/mail, and its own dovecot.conf; starts `dovecot -F -c` (pid in
#                           # DIR/dovecot.pid, log in DIR/dovecot.log), waits for the port, and
#                           # exports PEC_IMAP_RIG=1, PEC_IMAP_ADDR (127.0.0.1:PORT),
#                           # PEC_IMAP_USER, PEC_IMAP_PASSWORD, PEC_IMAP_CA (the CA's PEM file),
#                           # PEC_IMAP_TEST_DOMAIN, PEC_IMAP_RIG_DIR, PEC_IMAP_RIG_SCRIPT and
#                           # PEC_IMAP_SELF_SIGNED_CERT (a self-signed certificate, CA:TRUE as
#                           # `openssl req -x509` makes it, served to clients that connect
#                           # to "localhost": SNI picks it).
#                           # Besides PEC_IMAP_USER, any user NAME@PEC_IMAP_TEST_DOMAIN logs in
#                           # with the same password and gets its own empty mailbox: tests
#                           # running in parallel each use their own user.
#   dovecot_rig_seed DIR FOLDER FILE...
#                           # stores each RFC 822 file in FOLDER of the test user through
#                           # `doveadm save` (creates the folder), as the server itself would.
#   dovecot_rig_stop DIR    # stops that dovecot by the pid in its pid file, unsets PEC_IMAP_RIG
#
# Nothing here touches the system's Dovecot: `-c` means /etc/dovecot is never read, and the
# configuration, certificates, sockets (base_dir), state and mail live in one private directory
# (the "world"). As a normal user the world is DIR itself and every Dovecot process runs as that
# user, with no chroots (they need root). As root (the test machine) Dovecot refuses to run its
# login processes or to access mail as root, so they run as Debian's `dovenull` and `dovecot`
# users; those cannot enter DIR when DIR sits in a 0700 temporary directory (the test command's
# RUN_DIR), so the world is then a fresh `mktemp -d` under /tmp, recorded in DIR/world and
# removed by dovecot_rig_stop.
# The password is a test value written to DIR/users in plain text on purpose: it protects
# nothing but a throwaway maildir, and the tests need to know it.

DOVECOT_RIG_USER="${DOVECOT_RIG_USER:-mario.rossi@pec.example.it}"
DOVECOT_RIG_PASSWORD="${DOVECOT_RIG_PASSWORD:-pec-rig-imap-password}"
DOVECOT_RIG_TEST_DOMAIN="${DOVECOT_RIG_TEST_DOMAIN:-test.pec.invalid}"

_dovecot_rig_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_dovecot_rig_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! _dovecot_rig_port_open "$port"; then
            echo "$port"
            return 0
        fi
    done
    echo "dovecot rig: no free TCP port on 127.0.0.1" >&2
    return 1
}

# A CA and a server certificate signed by it. The client trusts the CA only when told to
# (PEC_IMAP_CA), which is what the "untrusted certificate" test relies on.
_dovecot_rig_certs() {
    local dir="$1"
    [ -s "$dir/server.crt" ] && [ -s "$dir/ca.crt" ] && [ -s "$dir/selfsigned.crt" ] && return 0
    # What many small servers run with: plain `openssl req -x509` output (OpenSSL marks it
    # CA:TRUE), served to clients that ask for "localhost" (SNI); see PEC_IMAP_SELF_SIGNED_CERT.
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost" \
        -keyout "$dir/selfsigned.key" -out "$dir/selfsigned.crt" >/dev/null 2>&1 || return 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
        -subj "/CN=PEC Desktop test CA (throwaway)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1 || return 1
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 || return 1
    printf '%s\n' \
        "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 30 -sha256 -extfile "$dir/server.ext" \
        -out "$dir/server.crt" >/dev/null 2>&1 || return 1
    chmod 600 "$dir/ca.key" "$dir/server.key" "$dir/selfsigned.key"
}

# The users Dovecot's processes run as: internal and login user names, then the mail uid/gid.
_dovecot_rig_identities() {
    if [ "$(id -u)" = 0 ]; then
        local internal=dovecot login=dovenull
        getent passwd "$internal" >/dev/null || internal=nobody
        getent passwd "$login" >/dev/null || login=nobody
        echo "$internal $login $(id -u "$internal") $(id -g "$internal")"
    else
        echo "$(id -un) $(id -un) $(id -u) $(id -g)"
    fi
}

_dovecot_rig_conf() {
    local world="$1" port="$2" internal login uid gid group
    read -r internal login uid gid < <(_dovecot_rig_identities)
    group="$(getent group "$gid" | cut -d: -f1)"
    cat >"$world/dovecot.conf" <<EOF
# Written by scripts/rig/dovecot.sh for one test run; not a production configuration.
instance_name = pec-rig-$port
base_dir = $world/run
state_dir = $world/state
log_path = $world/dovecot.log
info_log_path = $world/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$world/server.crt
ssl_key = <$world/server.key
ssl_min_protocol = TLSv1.2
# A client asking for "localhost" (SNI) gets the self-signed certificate instead.
local_name localhost {
  ssl_cert = <$world/selfsigned.crt
  ssl_key = <$world/selfsigned.key
}
auth_mechanisms = plain login
disable_plaintext_auth = yes
# Failed logins are delayed by 2 s by default; the wrong-password test does not need that.
auth_failure_delay = 0
default_internal_user = $internal
default_internal_group = $group
default_login_user = $login
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_location = maildir:$world/mail/%u
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $world/users
}
# Each test gets a mailbox of its own, so tests can run in parallel against one server: any
# user name under the test domain logs in with the rig's password and gets an empty maildir.
passdb {
  driver = static
  args = password=$DOVECOT_RIG_PASSWORD
  username_filter = *@$DOVECOT_RIG_TEST_DOMAIN
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$world/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $port
    ssl = yes
  }
}
service pop3-login {
  chroot =
}
service submission-login {
  chroot =
}
service anvil {
  chroot =
  # After a failed login Dovecot slows down every later login from the same IP (anvil's auth
  # penalty, up to 15 s). All tests connect from 127.0.0.1 and one of them fails on purpose:
  # closing the penalty socket to the auth process turns the penalty off.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap {
  process_limit = 16
}
EOF
}

# The directory Dovecot works in (see the header).
_dovecot_rig_world() {
    cat "$1/world"
}

dovecot_rig_start() {
    local dir="${1:?usage: dovecot_rig_start DIR}"
    command -v dovecot >/dev/null 2>&1 || {
        echo "dovecot rig: dovecot not installed (Debian package dovecot-imapd; scripts/setup.sh installs it)" >&2
        return 1
    }
    mkdir -p "$dir" || return 1
    dir="$(cd "$dir" && pwd)"
    local world
    if [ -f "$dir/dovecot.pid" ] && kill -0 "$(cat "$dir/dovecot.pid")" 2>/dev/null; then
        echo "dovecot rig: already running (pid $(cat "$dir/dovecot.pid"))" >&2
        world="$(_dovecot_rig_world "$dir")"
    else
        if [ "$(id -u)" = 0 ]; then
            world="$(mktemp -d "${TMPDIR:-/tmp}/pec-dovecot-rig.XXXXXX")" || return 1
            chmod 755 "$world"
        else
            world="$dir"
        fi
        echo "$world" >"$dir/world"
        local internal login uid gid
        read -r internal login uid gid < <(_dovecot_rig_identities)
        mkdir -p "$world/run" "$world/state" "$world/mail" "$world/home"
        _dovecot_rig_certs "$world" || {
            echo "dovecot rig: could not make the test certificates (openssl)" >&2
            return 1
        }
        local port
        port="$(_dovecot_rig_free_port)" || return 1
        echo "$port" >"$dir/port"
        printf '%s:{PLAIN}%s\n' "$DOVECOT_RIG_USER" "$DOVECOT_RIG_PASSWORD" >"$world/users"
        chmod 600 "$world/users"
        _dovecot_rig_conf "$world" "$port"
        if [ "$(id -u)" = 0 ]; then
            # The auth process (passwd-file) and the mail processes run as the internal user.
            chown "$uid:$gid" "$world/users" "$world/mail" "$world/home"
        fi
        # -F: foreground, so $! is the master process and stopping it stops its children.
        dovecot -F -c "$world/dovecot.conf" >>"$world/dovecot.log" 2>&1 &
        echo $! >"$dir/dovecot.pid"
        [ "$world" = "$dir" ] || ln -sf "$world/dovecot.log" "$dir/dovecot.log"
    fi
    local port i
    port="$(cat "$dir/port")"
    for i in $(seq 1 100); do
        if _dovecot_rig_port_open "$port"; then
            export PEC_IMAP_RIG=1
            export PEC_IMAP_ADDR="127.0.0.1:$port"
            export PEC_IMAP_USER="$DOVECOT_RIG_USER"
            export PEC_IMAP_PASSWORD="$DOVECOT_RIG_PASSWORD"
            export PEC_IMAP_CA="$world/ca.crt"
            export PEC_IMAP_SELF_SIGNED_CERT="$world/selfsigned.crt"
            export PEC_IMAP_TEST_DOMAIN="$DOVECOT_RIG_TEST_DOMAIN"
            export PEC_IMAP_RIG_DIR="$dir"
            PEC_IMAP_RIG_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
            export PEC_IMAP_RIG_SCRIPT
            return 0
        fi
        if ! kill -0 "$(cat "$dir/dovecot.pid")" 2>/dev/null; then
            echo "dovecot rig: dovecot exited; see $world/dovecot.log" >&2
            tail -n 20 "$world/dovecot.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "dovecot rig: nothing listens on port $port after 10 s; see $world/dovecot.log" >&2
    return 1
}

dovecot_rig_seed() {
    local dir="${1:?usage: dovecot_rig_seed DIR FOLDER FILE...}"
    local folder="${2:?usage: dovecot_rig_seed DIR FOLDER FILE...}"
    shift 2
    local conf file
    conf="$(_dovecot_rig_world "$dir")/dovecot.conf"
    # `mailbox create` fails when the folder exists (INBOX always does): that is fine.
    doveadm -c "$conf" mailbox create -u "$DOVECOT_RIG_USER" "$folder" 2>/dev/null || true
    for file in "$@"; do
        doveadm -c "$conf" save -u "$DOVECOT_RIG_USER" -m "$folder" <"$file" || {
            echo "dovecot rig: could not store $file in $folder; see $dir/dovecot.log" >&2
            return 1
        }
    done
}

dovecot_rig_stop() {
    local dir="${1:?usage: dovecot_rig_stop DIR}"
    local pid world
    if [ -f "$dir/dovecot.pid" ]; then
        pid="$(cat "$dir/dovecot.pid")"
        if kill "$pid" 2>/dev/null; then
            local i
            for i in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/dovecot.pid"
    fi
    # Only a world this rig made under the temp dir is removed; DIR itself is the caller's.
    if [ -f "$dir/world" ]; then
        world="$(cat "$dir/world")"
        case "$world" in
            */pec-dovecot-rig.*)
                # Keep the log next to the caller's other logs before the world goes.
                rm -f "$dir/dovecot.log"
                cp "$world/dovecot.log" "$dir/dovecot.log" 2>/dev/null || true
                rm -rf "$world"
                ;;
        esac
        rm -f "$dir/world"
    fi
    unset PEC_IMAP_RIG
}

# Runs "$@" with the rig up and always stops it afterwards; returns the command's status.
#   dovecot_rig_with /tmp/imap-rig cargo test -p pec-backup
dovecot_rig_with() {
    local dir="${1:?usage: dovecot_rig_with DIR COMMAND...}"
    shift
    dovecot_rig_start "$dir" || return 1
    local status=0
    "$@" || status=$?
    dovecot_rig_stop "$dir"
    return "$status"
}
