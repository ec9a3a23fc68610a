# shellcheck shell=bash
# PC/SC test rig: pcscd in the foreground (no systemd) with the vsmartcard-vpcd reader.
#
# Source it, then:
#   pcsc_rig_start DIR   # starts pcscd, logs to DIR/pcscd.log, pid in DIR/pcscd.pid,
#                        # waits until vpcd listens on 127.0.0.1:35963, exports PEC_PCSC_RIG=1,
#                        # PEC_PCSC_RIG_DIR (DIR, absolute) and PEC_PCSC_RIG_SCRIPT (this file)
#                        # so a test can stop and restart pcscd itself.
#                        # PCSC_RIG_APDU_LOG=1 adds pcscd -a (APDUs in the log, test PINs too).
#   pcsc_rig_stop  DIR   # stops that pcscd (by its pid) and unsets PEC_PCSC_RIG
#
# Needs root (pcscd creates /run/pcscd) and the Debian packages pcscd + vsmartcard-vpcd.
# The vpcd reader ("Virtual PCD 00 00") exists as soon as pcscd has loaded the driver, which
# opens the TCP port the virtual card (pec-card-sim) connects to; waiting on that port avoids
# needing pcsc_scan. Tests that need the rig check PEC_PCSC_RIG=1 and fail loudly without it.

PCSC_RIG_PORT="${PCSC_RIG_PORT:-35963}"

# Succeeds when something listens on 127.0.0.1:$1 (bash /dev/tcp, no extra tools).
_pcsc_rig_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pcsc_rig_start() {
    local dir="${1:?usage: pcsc_rig_start DIR}"
    mkdir -p "$dir" || return 1
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/pcscd.pid" ] && kill -0 "$(cat "$dir/pcscd.pid")" 2>/dev/null; then
        echo "pcsc rig: pcscd already running (pid $(cat "$dir/pcscd.pid"))" >&2
    else
        if pgrep -x pcscd >/dev/null 2>&1; then
            echo "pcsc rig: another pcscd is running (not ours); refusing to start a second one" >&2
            return 1
        fi
        if _pcsc_rig_port_open "$PCSC_RIG_PORT"; then
            echo "pcsc rig: port $PCSC_RIG_PORT already in use" >&2
            return 1
        fi
        # A stale socket from a killed pcscd would make clients hang on connect.
        rm -f /run/pcscd/pcscd.comm
        # -f: foreground (we own the process and its pid); no -x/--auto-exit, which would quit
        # after 60 s of inactivity between test binaries.
        # APDU logging (-a) would put the test PIN in the log: only on request.
        local apdu_flag=""
        [ "${PCSC_RIG_APDU_LOG:-0}" = 1 ] && apdu_flag="-a"
        pcscd -f $apdu_flag >"$dir/pcscd.log" 2>&1 &
        echo $! >"$dir/pcscd.pid"
    fi
    local i
    for i in $(seq 1 100); do
        if _pcsc_rig_port_open "$PCSC_RIG_PORT" && [ -S /run/pcscd/pcscd.comm ]; then
            export PEC_PCSC_RIG=1
            export PEC_PCSC_RIG_DIR="$dir"
            PEC_PCSC_RIG_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
            export PEC_PCSC_RIG_SCRIPT
            return 0
        fi
        if ! kill -0 "$(cat "$dir/pcscd.pid")" 2>/dev/null; then
            echo "pcsc rig: pcscd exited; see $dir/pcscd.log" >&2
            tail -n 20 "$dir/pcscd.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "pcsc rig: vpcd did not open port $PCSC_RIG_PORT within 10 s; see $dir/pcscd.log" >&2
    return 1
}

pcsc_rig_stop() {
    local dir="${1:?usage: pcsc_rig_stop DIR}"
    local pid
    if [ -f "$dir/pcscd.pid" ]; then
        pid="$(cat "$dir/pcscd.pid")"
        if kill "$pid" 2>/dev/null; then
            local i
            for i in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/pcscd.pid"
    fi
    unset PEC_PCSC_RIG
}

# Runs "$@" with the rig up and always stops it afterwards; returns the command's status.
#   pcsc_rig_with target/pcsc-rig cargo test -p pec-card -p pec-card-sim -p pec
pcsc_rig_with() {
    local dir="${1:?usage: pcsc_rig_with DIR COMMAND...}"
    shift
    pcsc_rig_start "$dir" || return 1
    local status=0
    "$@" || status=$?
    pcsc_rig_stop "$dir"
    return "$status"
}
