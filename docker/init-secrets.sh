#!/bin/sh
# Creates the secret files that compose.yaml mounts, with random passwords and keys, in
# secrets/ next to this script. Files that exist are kept, so a re-run never rotates a
# password that a database already holds. Needs only a POSIX shell and openssl.
#
#   ./init-secrets.sh            # production services
#   ./init-secrets.sh --staging  # also the staging Rucio and gridsim configuration
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir="$here/secrets"
staging=false
[ "${1:-}" = "--staging" ] && staging=true

# The folder keeps other host users out; the files themselves stay readable to the
# containers' own users (postgres, redis, airflow), which reach them through the mounts.
umask 022
mkdir -p "$dir"
chmod 700 "$dir"

# Prints the file's content, creating it with the output of the given command first.
secret() {
    name=$1
    shift
    if [ ! -s "$dir/$name" ]; then
        "$@" >"$dir/$name.tmp"
        mv "$dir/$name.tmp" "$dir/$name"
        echo "created secrets/$name" >&2
    fi
    cat "$dir/$name"
}

# Values end without a newline: Airflow's `_CMD` options take a command's output verbatim.
value() { printf '%s' "$1"; }
# Hex passwords need no escaping inside URIs and configuration files.
password() { openssl rand -hex 24 | tr -d '\n'; }
# A Fernet key is 32 random bytes in URL-safe base64.
fernet_key() { openssl rand -base64 32 | tr '+/' '-_' | tr -d '\n'; }

pg=$(secret postgres_password password)
secret airflow_db_uri value "postgresql+psycopg2://airflow:$pg@postgres:5432/airflow" >/dev/null
secret celery_result_backend value "db+postgresql://airflow:$pg@postgres:5432/airflow" >/dev/null

redis=$(secret redis_password password)
secret redis.conf printf 'requirepass %s\nappendonly yes\n' "$redis" >/dev/null
secret celery_broker_url value "redis://:$redis@redis:6379/0" >/dev/null

secret fernet_key fernet_key >/dev/null
secret api_secret_key password >/dev/null
secret jwt_secret password >/dev/null
secret airflow_admin_password password >/dev/null

if $staging; then
    rucio_db=$(secret rucio_db_password password)
    rucio_root=$(secret rucio_root_password password)
    secret rucio.cfg sed -e "s/@RUCIO_DB_PASSWORD@/$rucio_db/" \
        -e "s/@RUCIO_ROOT_PASSWORD@/$rucio_root/" "$here/examples/rucio.cfg.example" >/dev/null
    secret gridsim.toml cat "$here/examples/gridsim.toml.example" >/dev/null
    secret staging-connections.env sed -e "s/@RUCIO_ROOT_PASSWORD@/$rucio_root/" \
        "$here/examples/staging-connections.env.example" >/dev/null
fi
