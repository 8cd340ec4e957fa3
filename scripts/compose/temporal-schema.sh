#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (temporal, temporal_visibility) with
# the admin-tools image's temporal-sql-tool, as Temporal's own compose setup does; run by
# docker-compose.yml's temporal-schema job before the server starts. Safe to run again: an
# existing database is kept and its schema only moved forward (setup-schema, which sets the
# version to 0.0, runs only on the database this run created). Reads SQL_HOST, SQL_PORT,
# SQL_USER and SQL_PASSWORD (temporal-sql-tool reads the password from SQL_PASSWORD).
set -eu
: "${SQL_HOST:?set SQL_HOST}" "${SQL_USER:?set SQL_USER}" "${SQL_PASSWORD:?set SQL_PASSWORD}"
schema=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  tool() { temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "${SQL_PORT:-5432}" -u "$SQL_USER" --db "$db" "$@"; }
  if out=$(tool create 2>&1); then
    tool setup-schema -v 0.0
  else
    case "$out" in
      *"already exists"*) echo "$db: database exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  dir=$schema/temporal/versioned
  [ "$db" = temporal_visibility ] && dir=$schema/visibility/versioned
  tool update-schema -d "$dir"
  echo "$db: schema up to date"
done
