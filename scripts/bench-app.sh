#!/usr/bin/env bash
# Launch-time and memory benchmark: PEC Desktop against a bare Tauri hello-world
# (bench/hello-world), both release builds with the UI embedded, in the same run and rig.
#
# For each app, N launches (PEC_BENCH_RUNS, default 5) through tauri-driver under Xvfb, the
# two apps taking turns launch by launch:
#   - launch → first interactive screen: from the WebDriver "new session" request (which
#     starts the binary) until the first screen's element exists (sign-in form for the app,
#     the <h1> for hello-world). Both go through the same driver, so its cost cancels out in
#     the ratio;
#   - resident memory 10 s later: VmRSS of the app process plus every process under it
#     (WebKitWebProcess, WebKitNetworkProcess).
# Prints a table with medians and the ratios; goal ≤ 1.3 for both.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

RUNS="${PEC_BENCH_RUNS:-5}"
bash "$REPO_ROOT/scripts/setup.sh"
build_ui
log "Release builds (app and hello-world)"
(cd "$REPO_ROOT" && cargo build --release -p pec-app --features custom-protocol \
  && cargo build --release -p hello-world-bench --features custom-protocol)
APP="$CARGO_TARGET_DIR/release/pec-app"
HELLO="$CARGO_TARGET_DIR/release/hello-world-bench"

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pec-bench.XXXXXX")"
export RUN_DIR
# Services first (they may use files in RUN_DIR), then the run's files: a run leaves nothing
# behind in /tmp (the installers' test alone unpacks a few hundred MB there).
trap 'services_stop; rm -rf "$RUN_DIR"' EXIT
trap 'exit 130' INT TERM
start_xvfb
start_dbus
start_keyring
# tauri-driver gives the apps a private XDG home: the embedded sandbox starts fresh.
start_tauri_driver

python3 - "$PEC_E2E_DRIVER" "$RUNS" "$APP" "$HELLO" <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request

driver, runs, app, hello = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(driver + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)["value"]

def tree_rss_kib(root):
    """VmRSS of root and all its descendants, in KiB."""
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, ValueError, IndexError):
            pass
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total

def pid_of(binary):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/exe") == binary:
                return int(pid)
        except OSError:
            pass
    return None

def instance_running():
    """Whether an app holds the single-instance name on the rig's session bus."""
    out = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
         "string:it.pecdesktop.app.SingleInstance"],
        capture_output=True, text=True)
    return "boolean true" in out.stdout

def launch(binary, selector, args=()):
    """One launch: milliseconds until `selector` exists, and the tree's RSS 10 s later."""
    # The previous launch must be gone (not timed): a launch while it still holds the
    # single-instance name would hand itself over to it and measure that instead.
    limit = time.monotonic() + 15
    while instance_running() and time.monotonic() < limit:
        time.sleep(0.05)
    start = time.monotonic()
    session = call("POST", "/session", {"capabilities": {"alwaysMatch": {
        "tauri:options": {"application": binary, "args": list(args)}}}})["sessionId"]
    script = {"script": "return document.querySelector(arguments[0]) !== null;",
              "args": [selector]}
    while not call("POST", f"/session/{session}/execute/sync", script):
        time.sleep(0.01)
    elapsed = (time.monotonic() - start) * 1000
    time.sleep(10)
    pid = pid_of(binary)
    rss = tree_rss_kib(pid) / 1024 if pid else float("nan")
    call("DELETE", f"/session/{session}")
    time.sleep(1)
    return elapsed, rss

# The two apps take turns, launch after launch: a slow spell of the machine (seen here:
# hello-world's median moving by 70 ms between runs) then falls on both sides alike.
subjects = [("PEC Desktop", app, "[data-testid=signin-title]"), ("Tauri hello-world", hello, "h1")]
results = {name: ([], []) for name, _, _ in subjects}
for _ in range(runs):
    for name, binary, selector in subjects:
        t, m = launch(binary, selector)
        results[name][0].append(t)
        results[name][1].append(m)
app_all, hw_all = results["PEC Desktop"][0], results["Tauri hello-world"][0]
app_t, hw_t = statistics.median(app_all), statistics.median(hw_all)
app_m = statistics.median(results["PEC Desktop"][1])
hw_m = statistics.median(results["Tauri hello-world"][1])
rt, rm = app_t / hw_t, app_m / hw_m
print()
print(f"launch benchmark ({runs} launches each, medians)")
print(f"| {'':<22} | {'launch → interactive':>21} | {'RSS after 10 s idle':>20} |")
print(f"|{'-'*24}|{'-'*23}|{'-'*22}|")
print(f"| {'PEC Desktop':<22} | {app_t:>18.0f} ms | {app_m:>17.1f} MB |")
print(f"| {'Tauri hello-world':<22} | {hw_t:>18.0f} ms | {hw_m:>17.1f} MB |")
print(f"| {'ratio (goal ≤ 1.3)':<22} | {rt:>21.2f} | {rm:>20.2f} |")
print(f"each launch (ms): PEC Desktop {[round(t) for t in app_all]}, hello-world {[round(t) for t in hw_all]}")
print(f"goal met: launch {'yes' if rt <= 1.3 else 'no'}, memory {'yes' if rm <= 1.3 else 'no'}")
PY
