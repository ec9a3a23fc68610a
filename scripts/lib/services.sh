# Starts the services the end-to-end tests need and stops them again, by process id.
# Source it after common.sh; call `services_stop` on exit (the test command traps it).
# shellcheck shell=bash

SERVICE_PIDS=()
SERVICE_NAMES=()

_service_started() { SERVICE_PIDS+=("$1"); SERVICE_NAMES+=("$2"); }

services_stop() {
  local i pid
  # pcscd is stopped through the rig, by the pid in its pid file: a test may have restarted
  # it (crates/card/tests/pcscd_restart.rs), so the pid seen at start can be stale.
  if [ -n "${SERVICE_PCSC_DIR:-}" ]; then
    pcsc_rig_stop "$SERVICE_PCSC_DIR"
    SERVICE_PCSC_DIR=""
  fi
  if [ -n "${SERVICE_DOVECOT_DIR:-}" ]; then
    dovecot_rig_stop "$SERVICE_DOVECOT_DIR"
    SERVICE_DOVECOT_DIR=""
  fi
  for ((i = ${#SERVICE_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${SERVICE_PIDS[$i]}"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  SERVICE_PIDS=()
  SERVICE_NAMES=()
}

# True when nothing listens on 127.0.0.1:$1.
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if port_is_free "$port"; then echo "$port"; return 0; fi
  done
  die "no free TCP port found on 127.0.0.1"
}

wait_for_port() {
  local port="$1" what="$2" pid="$3"
  for _ in $(seq 1 300); do
    port_is_free "$port" || return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited before listening on port $port"
    sleep 0.1
  done
  die "$what did not listen on port $port within 30 s"
}

# A virtual X server on the first free display from :90 up.
start_xvfb() {
  local display=90
  while [ -e "/tmp/.X${display}-lock" ] || [ -e "/tmp/.X11-unix/X${display}" ]; do
    display=$((display + 1))
  done
  Xvfb ":$display" -screen 0 1280x900x24 -nolisten tcp -noreset >"$RUN_DIR/xvfb.log" 2>&1 &
  local pid=$!
  _service_started "$pid" Xvfb
  for _ in $(seq 1 100); do
    [ -S "/tmp/.X11-unix/X${display}" ] && break
    kill -0 "$pid" 2>/dev/null || die "Xvfb failed to start: $(cat "$RUN_DIR/xvfb.log")"
    sleep 0.1
  done
  [ -S "/tmp/.X11-unix/X${display}" ] || die "Xvfb did not create its socket"
  export DISPLAY=":$display"
  log "Xvfb on $DISPLAY (pid $pid)"
}

# A private D-Bus session bus (WebKitGTK and the Secret Service keyring use it).
start_dbus() {
  local addr_file="$RUN_DIR/dbus.address"
  : >"$addr_file"
  dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$addr_file" >"$RUN_DIR/dbus.log" 2>&1 &
  local pid=$!
  _service_started "$pid" dbus-daemon
  for _ in $(seq 1 100); do
    [ -s "$addr_file" ] && break
    kill -0 "$pid" 2>/dev/null || die "dbus-daemon failed to start: $(cat "$RUN_DIR/dbus.log")"
    sleep 0.1
  done
  DBUS_SESSION_BUS_ADDRESS="$(head -n 1 "$addr_file")"
  [ -n "$DBUS_SESSION_BUS_ADDRESS" ] || die "dbus-daemon printed no address"
  export DBUS_SESSION_BUS_ADDRESS
  log "D-Bus session bus (pid $pid)"
}

# tauri-driver (which starts WebKitWebDriver, which starts the app). The app it launches
# gets private XDG directories, so tests never see or change the user's own settings.
# Not set on purpose: WEBKIT_DISABLE_DMABUF_RENDERER. Often advised for headless runs, with
# WebKitGTK 2.50 on Debian 12 under Xvfb it makes WebDriver's screenshot command hang
# forever, while the window renders fine without it.
start_tauri_driver() {
  local port native_port app_home="$RUN_DIR/app-home" trust=()
  port="$(free_port)"
  native_port="$(free_port)"
  while [ "$native_port" = "$port" ]; do native_port="$(free_port)"; done
  mkdir -p "$app_home"/{config,data,cache,state,documents}
  # The app's documents folder (where "Salva" writes the signed form) inside the rig too.
  printf 'XDG_DOCUMENTS_DIR="%s"\n' "$app_home/documents" >"$app_home/config/user-dirs.dirs"
  # Firma digitale through PKCS#11: an empty SoftHSM2 token directory the tests fill
  # (tests/e2e/tests/signature.rs), and its module offered to the app besides the usual places.
  local softhsm="$RUN_DIR/softhsm" spy
  mkdir -p "$softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$softhsm/tokens" >"$softhsm/softhsm2.conf"
  # OpenSC's pkcs11-spy (Debian opensc-pkcs11) in front of SoftHSM2, offered as a second module:
  # it logs every call, so a test counts the C_Logins one click made.
  spy="$(ls /usr/lib/*/pkcs11/pkcs11-spy.so 2>/dev/null | head -n 1)"
  [ -n "$spy" ] || die "OpenSC's pkcs11-spy.so is missing: run scripts/setup.sh (package opensc)"
  # The backup test (tests/e2e/tests/backup.rs) points the app at the rig's Dovecot, whose
  # certificate comes from a throwaway CA. The app trusts the system's roots through
  # rustls-native-certs, which reads SSL_CERT_FILE instead when it is set: only here, in the
  # rig, is it set to that CA. The app itself has no switch to trust anything else.
  if [ -n "${PEC_IMAP_CA:-}" ]; then trust=(SSL_CERT_FILE="$PEC_IMAP_CA"); fi
  # A copied app password leaves the clipboard after 5 s instead of a minute (it can only be
  # shortened): the copy-button test waits for the wipe on the real X clipboard.
  env \
    "${trust[@]}" \
    XDG_CONFIG_HOME="$app_home/config" XDG_DATA_HOME="$app_home/data" \
    XDG_CACHE_HOME="$app_home/cache" XDG_STATE_HOME="$app_home/state" \
    LIBGL_ALWAYS_SOFTWARE=1 \
    PEC_CLIPBOARD_SECRET_SECS=5 \
    SOFTHSM2_CONF="$softhsm/softhsm2.conf" PEC_PKCS11_MODULES="/usr/lib/softhsm/libsofthsm2.so:$spy" \
    PKCS11SPY=/usr/lib/softhsm/libsofthsm2.so PKCS11SPY_OUTPUT="$softhsm/pkcs11-spy.log" \
    tauri-driver --port "$port" --native-port "$native_port" >"$RUN_DIR/tauri-driver.log" 2>&1 &
  local pid=$!
  _service_started "$pid" tauri-driver
  wait_for_port "$port" tauri-driver "$pid"
  # tauri-driver listens before the WebKitWebDriver it spawned does, and until that one
  # listens it answers a new session by dropping the connection: wait for both.
  wait_for_port "$native_port" WebKitWebDriver "$pid"
  export PEC_E2E_DRIVER="http://127.0.0.1:$port"
  export PEC_E2E_APP_HOME="$app_home"
  export PEC_E2E_SOFTHSM2_CONF="$softhsm/softhsm2.conf"
  export PEC_E2E_PKCS11_SPY="$spy" PEC_E2E_PKCS11_SPY_LOG="$softhsm/pkcs11-spy.log"
  log "tauri-driver on $PEC_E2E_DRIVER (pid $pid)"
}

# pcscd with the vsmartcard-vpcd virtual reader (scripts/rig/pcsc.sh), for the card tests
# and for the app's virtual card. Exports PEC_PCSC_RIG=1, which the card tests require.
start_pcscd() {
  # shellcheck source=../rig/pcsc.sh
  . "$REPO_ROOT/scripts/rig/pcsc.sh"
  SERVICE_PCSC_DIR="$RUN_DIR/pcsc"
  pcsc_rig_start "$SERVICE_PCSC_DIR" || die "pcscd could not be started (see $SERVICE_PCSC_DIR/pcscd.log)"
  log "pcscd with the virtual reader (pid $(cat "$RUN_DIR/pcsc/pcscd.pid"))"
}

# gnome-keyring's Secret Service on the session bus started by start_dbus, with its own
# throwaway keyring directory (never the user's), unlocked with a test password.
start_keyring() {
  [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || die "start_keyring needs start_dbus first"
  local data="$RUN_DIR/keyring-data" runtime="$RUN_DIR/keyring-runtime"
  mkdir -p "$data" "$runtime"
  chmod 700 "$runtime"
  # The daemon reads the unlock password from stdin; $! is the daemon itself.
  printf 'pec-test-keyring' |
    env XDG_DATA_HOME="$data" XDG_RUNTIME_DIR="$runtime" \
      gnome-keyring-daemon --foreground --unlock --components=secrets >"$RUN_DIR/keyring.log" 2>&1 &
  local pid=$!
  _service_started "$pid" gnome-keyring-daemon
  for _ in $(seq 1 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
         org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
       grep -q 'boolean true'; then
      export PEC_KEYRING_RIG=1
      log "Secret Service: gnome-keyring (pid $pid)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "gnome-keyring-daemon exited: $(cat "$RUN_DIR/keyring.log")"
    sleep 0.1
  done
  die "gnome-keyring did not register org.freedesktop.secrets within 10 s"
}

# A private Dovecot IMAPS server on a free loopback port (scripts/rig/dovecot.sh), for the
# mailbox backup tests (crates/backup). Exports PEC_IMAP_RIG=1, PEC_IMAP_ADDR, PEC_IMAP_USER,
# PEC_IMAP_PASSWORD and PEC_IMAP_CA, which those tests require. Stopped through the rig's pid
# file, like pcscd, so the rig also removes the directory it made.
start_dovecot() {
  # shellcheck source=../rig/dovecot.sh
  . "$REPO_ROOT/scripts/rig/dovecot.sh"
  SERVICE_DOVECOT_DIR="$RUN_DIR/dovecot"
  dovecot_rig_start "$SERVICE_DOVECOT_DIR" || die "dovecot could not be started (see $SERVICE_DOVECOT_DIR/dovecot.log)"
  log "dovecot IMAPS on $PEC_IMAP_ADDR (pid $(cat "$SERVICE_DOVECOT_DIR/dovecot.pid"))"
}
