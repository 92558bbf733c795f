#!/usr/bin/env bash
# Run a real Redmine (Debian packages, SQLite, thin) on 127.0.0.1 for the adapter tests.
#   scripts/redmine-local.sh [start]   install when missing, start, configure; prints "URL APIKEY CUSTOM_FIELD_ID"
#   scripts/redmine-local.sh stop      stop the server started by this script
#   scripts/redmine-local.sh install   install only
# Env: REDMINE_PORT (default 3301). Needs root (apt-get, runs the server as www-data).
set -euo pipefail

PORT="${REDMINE_PORT:-3301}"
APP=/usr/share/redmine
RUN_DIR=/var/lib/redmine/syncer-test
PID_FILE="$RUN_DIR/thin-$PORT.pid"
LOG_FILE="$RUN_DIR/thin-$PORT.log"

log() { echo "redmine-local: $*" >&2; }

as_www() { (cd "$APP" && runuser -u www-data -- env RAILS_ENV=production "$@"); }

install() {
    if dpkg-query -W -f='${Status}' redmine 2>/dev/null | grep -q 'ok installed' \
        && dpkg-query -W -f='${Status}' thin 2>/dev/null | grep -q 'ok installed' \
        && dpkg-query -W -f='${Status}' redmine-sqlite 2>/dev/null | grep -q 'ok installed'; then
        ensure_database
        return 0
    fi
    log "installing redmine, redmine-sqlite and thin from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    debconf-set-selections <<'SEL'
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/db/basepath string /var/lib/dbconfig-common/sqlite3/redmine/instances/default
SEL
    if ! apt-cache show redmine >/dev/null 2>&1; then
        apt-get update -q >&2
    fi
    apt-get install -y -q --no-install-recommends redmine redmine-sqlite thin >&2
    ensure_database
}

# After a manual purge dpkg remembers the removed conffiles and writes no database.yml: write it ourselves.
ensure_database() {
    local cfg=/etc/redmine/default/database.yml
    if [ ! -s "$cfg" ]; then
        log "writing $cfg"
        mkdir -p /etc/redmine/default /var/lib/dbconfig-common/sqlite3/redmine/instances/default
        cat >"$cfg" <<YML
production:
  adapter: sqlite3
  database: /var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default
  encoding: utf8
YML
        chown -R www-data:www-data /var/lib/dbconfig-common/sqlite3/redmine
    fi
    local db
    db=$(sed -n 's/^ *database: *//p' "$cfg" | head -1)
    if [ -n "$db" ] && [ ! -s "$db" ]; then
        log "migrating a fresh database at $db"
        mkdir -p "$(dirname "$db")" && chown www-data:www-data "$(dirname "$db")"
        as_www env SCHEMA=/dev/null rake db:migrate >&2
        as_www env REDMINE_LANG=en rake redmine:load_default_data >&2
    fi
}

running() {
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null || \
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" 2>/dev/null)" = 302 ]
}

start_server() {
    mkdir -p "$RUN_DIR" && chown www-data:www-data "$RUN_DIR"
    if running; then
        return 0
    fi
    log "starting thin on 127.0.0.1:$PORT"
    as_www thin start -c "$APP" -a 127.0.0.1 -p "$PORT" -e production -d -P "$PID_FILE" -l "$LOG_FILE" >&2
}

wait_server() {
    for _ in $(seq 1 240); do
        if running; then
            return 0
        fi
        sleep 0.25
    done
    log "server did not answer on port $PORT; see $LOG_FILE"
    tail -n 30 "$LOG_FILE" >&2 || true
    return 1
}

configure() {
    # Prints "APIKEY CUSTOM_FIELD_ID". Idempotent.
    as_www rails runner '
Setting.rest_api_enabled = "1"
Setting.login_required = "1"
admin = User.find_by_login("admin")
admin.must_change_passwd = false
admin.save!(validate: false)
key = admin.api_key
cf = IssueCustomField.find_by(name: "Syncer marker") || IssueCustomField.create!(
  name: "Syncer marker", field_format: "string", is_for_all: true, is_filter: true,
  searchable: true, trackers: Tracker.all.to_a)
cf.update!(trackers: Tracker.all.to_a) if cf.trackers.empty?
project = Project.find_by(identifier: "product") || Project.create!(
  name: "Product", identifier: "product", is_public: false, trackers: Tracker.all.to_a,
  enabled_module_names: Redmine::AccessControl.available_project_modules.map(&:to_s))
project.update!(trackers: Tracker.all.to_a) if project.trackers.empty?
raise "no trackers" if Tracker.count == 0
raise "no statuses" if IssueStatus.count == 0
raise "no priorities" if IssuePriority.count == 0
puts "SYNCER #{key} #{cf.id}"
' 2>/dev/null | sed -n 's/^SYNCER //p'
}

stop() {
    if [ -f "$PID_FILE" ]; then
        local pid
        pid=$(cat "$PID_FILE")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        rm -f "$PID_FILE"
        log "stopped (pid $pid)"
    else
        log "not running (no $PID_FILE)"
    fi
}

case "${1:-start}" in
    install) install ;;
    stop) stop ;;
    start)
        install
        start_server
        out=$(configure)
        wait_server
        [ -n "$out" ] || { log "configuration failed"; exit 1; }
        set -- $out
        echo "http://127.0.0.1:$PORT $1 $2"
        ;;
    *) echo "usage: $0 [start|stop|install]" >&2; exit 2 ;;
esac
