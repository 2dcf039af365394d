#!/usr/bin/env bash
# Installs (or updates) DermaLens on an EC2 instance as a systemd service behind nginx.
# Amazon Linux 2023, Ubuntu 22.04/24.04 or Debian 12. Run as root from the repository
# checkout; safe to run again: a second run changes nothing and restarts nothing.
#
#   sudo S3_BUCKET_NAME=my-photos AWS_REGION=eu-west-1 ./setup_ec2.sh
#   ./setup_ec2.sh --dry-run          # print every step and command; change nothing (no root)
#
# Read on first run, to write /etc/dermalens/dermalens.env (an existing file is kept):
#   S3_BUCKET_NAME, AWS_REGION, TRUSTED_PROXIES, DEPLOYMENT, CREATE_TABLES,
#   SECRET_KEY_SSM_PARAMETER / SECRET_KEY_SECRET_ID (deploy/render-env-file.sh)
# Read on every run:
#   DOMAIN=api.example.com   nginx server_name; with a certificate under
#                            /etc/letsencrypt/live/$DOMAIN/ the HTTPS config is installed
#   SKIP_AWS_CHECKS=1        skip the instance-role and DynamoDB/S3 checks (not on EC2)
# Each failure says what to do; EC2_DEPLOYMENT.md "Troubleshooting" has more.
set -euo pipefail

APP_DIR=${APP_DIR:-/opt/dermalens}
ENV_DIR=${ENV_DIR:-/etc/dermalens}
ENV_FILE=$ENV_DIR/dermalens.env
DATA_DIR=${DATA_DIR:-/var/lib/dermalens}
UNIT_FILE=${UNIT_FILE:-/etc/systemd/system/dermalens.service}
NGINX_DIR=${NGINX_DIR:-/etc/nginx}
CERTBOT_WEBROOT=${CERTBOT_WEBROOT:-/var/www/certbot}
OS_RELEASE=${OS_RELEASE:-/etc/os-release}
IMDS=${IMDS:-http://169.254.169.254}
SERVICE_USER=dermalens
SERVICE=dermalens
PORT=8000
SOURCE_DIR=$(cd "$(dirname "$0")" && pwd)

DRY_RUN=0
CHANGED=0
STEP=0
STEPS=12

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

for arg in "$@"; do
  case $arg in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup_ec2.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

step() {
  STEP=$((STEP + 1))
  echo "==> [$STEP/$STEPS] $*"
}

note() { echo "    $*"; }

# The words of a command as one line, quoting only the words that need it.
show() {
  local word out=()
  for word in "$@"; do
    if [[ $word =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=("$word"); else out+=("'$word'"); fi
  done
  echo "${out[*]}"
}

# The command, printed; run unless --dry-run. Every change this script makes goes through here.
run() {
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "    [dry-run] would run: $(show "$@")"
  else
    echo "    + $(show "$@")"
    "$@"
  fi
}

# Stop with the reason and what to do about it.
fail() {
  echo "" >&2
  echo "setup_ec2.sh: FAILED at step $STEP: $1" >&2
  echo "  what to do: $2" >&2
  exit 1
}

dry() { [[ $DRY_RUN -eq 1 ]]; }

# install SRC DEST MODE: copy when DEST differs (or is missing); counts as a change.
install_file() {
  local src=$1 dest=$2 mode=$3
  if dry || ! cmp -s "$src" "$dest"; then
    run install -D -m "$mode" -o root -g root "$src" "$dest"
    CHANGED=1
  else
    note "unchanged: $dest"
  fi
}

check_os() {
  step "check the operating system ($OS_RELEASE)"
  [[ -r $OS_RELEASE ]] || fail "cannot read $OS_RELEASE" "run this on Amazon Linux 2023, Ubuntu 22.04/24.04 or Debian 12"
  local id version
  # shellcheck source=/dev/null
  id=$(. "$OS_RELEASE" && echo "${ID:-}")
  # shellcheck source=/dev/null
  version=$(. "$OS_RELEASE" && echo "${VERSION_ID:-}")
  case "$id:$version" in
    amzn:2023*) PKG=dnf; PYTHON=python3.11; PACKAGES=(python3.11 python3.11-pip rsync nginx) ;;
    ubuntu:24.04) PKG=apt; PYTHON=python3; PACKAGES=(python3 python3-venv rsync nginx curl) ;;
    ubuntu:22.04) PKG=apt; PYTHON=python3.11; PACKAGES=(python3.11 python3.11-venv rsync nginx curl) ;;
    debian:12*) PKG=apt; PYTHON=python3; PACKAGES=(python3 python3-venv rsync nginx curl) ;;
    *) fail "unsupported OS '$id $version'" "launch Amazon Linux 2023 or Ubuntu 24.04 (EC2_DEPLOYMENT.md, step 3)" ;;
  esac
  note "$id $version: packages with $PKG, Python $PYTHON"
  if ! dry && [[ $EUID -ne 0 ]]; then
    fail "not running as root" "run: sudo $0 (or $0 --dry-run to see the steps)"
  fi
}

check_instance_role() {
  step "check the instance role through IMDSv2 (token first; the tokenless call is never used)"
  if [[ ${SKIP_AWS_CHECKS:-0} == 1 ]]; then
    note "skipped (SKIP_AWS_CHECKS=1)"
    return
  fi
  local put=(curl -sS -f --max-time 3 -X PUT "$IMDS/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
  local get=(curl -sS -f --max-time 3 -H "X-aws-ec2-metadata-token: \$TOKEN")
  if dry; then
    run "${put[@]}"
    run "${get[@]}" "$IMDS/latest/meta-data/iam/info"
    run "${get[@]}" "$IMDS/latest/meta-data/placement/region"
    return
  fi
  local token info region
  echo "    + $(show "${put[@]}")"
  token=$("${put[@]}") || fail "no IMDSv2 token from $IMDS" \
    "run this on the EC2 instance; if it is one, enable the metadata service (aws ec2 modify-instance-metadata-options --instance-id ID --http-endpoint enabled --http-tokens required --http-put-response-hop-limit 2)"
  get=(curl -sS -f --max-time 3 -H "X-aws-ec2-metadata-token: $token")
  echo "    + curl ... -H 'X-aws-ec2-metadata-token: ***' $IMDS/latest/meta-data/iam/info"
  info=$("${get[@]}" "$IMDS/latest/meta-data/iam/info") || fail "this instance has no IAM role (no instance profile)" \
    "attach one: aws ec2 associate-iam-instance-profile --instance-id ID --iam-instance-profile Name=dermalens (the stack in deploy/cloudformation.yaml creates it)"
  grep -q '"Code" *: *"Success"' <<<"$info" || fail "the instance role's credentials are not usable: $info" \
    "check the role's trust policy allows ec2.amazonaws.com (deploy/cloudformation.yaml)"
  note "instance profile: $(sed -n 's/.*"InstanceProfileArn" *: *"\([^"]*\)".*/\1/p' <<<"$info")"
  region=$("${get[@]}" "$IMDS/latest/meta-data/placement/region") || region=unknown
  note "instance region: $region"
  INSTANCE_REGION=$region
}

install_packages() {
  step "install system packages (${PACKAGES[*]})"
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    if dry; then
      missing+=("$pkg")
    elif [[ $PKG == dnf ]]; then
      rpm -q "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    else
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    note "all installed"
  elif [[ $PKG == dnf ]]; then
    dry && note "(only the missing ones)"
    run dnf install -y "${missing[@]}" || fail "dnf could not install ${missing[*]}" "check the instance reaches the package mirrors (outbound HTTPS, or a VPC endpoint for S3)"
  else
    dry && note "(only the missing ones)"
    run apt-get update -q || fail "apt-get update failed" "check the instance reaches the Ubuntu/Debian mirrors (outbound HTTP/HTTPS)"
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || fail "apt-get could not install ${missing[*]}" "run the apt-get command above by hand to see why"
  fi
  if ! dry; then
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
      || fail "$PYTHON is older than 3.11" "install Python 3.11+ (Ubuntu 22.04: apt-get install python3.11 python3.11-venv)"
  fi
}

create_user_and_dirs() {
  step "service user $SERVICE_USER and directories"
  if dry || ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    dry && note "(if the user is missing)"
    run useradd --system --no-create-home --home-dir "$APP_DIR" --shell /usr/sbin/nologin "$SERVICE_USER"
    CHANGED=1
  else
    note "user $SERVICE_USER exists"
  fi
  # Code and venv belong to root (the service reads them, never rewrites them); only the
  # data dir is the service user's, and the unit makes it the one writable path.
  local dir
  for dir in "$APP_DIR" "$ENV_DIR"; do
    if dry || [[ ! -d $dir ]]; then run install -d -m 0755 -o root -g root "$dir"; fi
  done
  if dry || [[ ! -d $DATA_DIR ]]; then
    run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
  fi
}

sync_code() {
  step "copy the application to $APP_DIR"
  local rsync=(rsync -a --omit-dir-times --delete --checksum --itemize-changes --chown=root:root
    --exclude .venv --exclude .env --exclude .data --exclude node_modules --exclude .git --exclude .stamps
    --exclude __pycache__ --exclude .pytest_cache --exclude .mypy_cache --exclude .ruff_cache
    "$SOURCE_DIR/" "$APP_DIR/")
  if dry; then
    run "${rsync[@]}"
    return
  fi
  local changes
  echo "    + $(show "${rsync[@]}")"
  changes=$("${rsync[@]}") || fail "copying the code failed" "check the disk space (df -h $APP_DIR)"
  if [[ -n $changes ]]; then
    note "$(wc -l <<<"$changes") paths updated"
    CHANGED=1
  else
    note "code unchanged"
  fi
}

install_venv() {
  step "Python virtualenv $APP_DIR/.venv with the hash-checked requirements.lock"
  local venv=$APP_DIR/.venv stamp=$APP_DIR/.venv/.requirements.lock.sha256 want
  if dry || [[ ! -x $venv/bin/python ]]; then
    run "${PYTHON:-python3}" -m venv "$venv"
    CHANGED=1
  fi
  if ! dry; then
    want=$(sha256sum "$APP_DIR/requirements.lock" | cut -d' ' -f1)
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
      note "requirements unchanged"
      return
    fi
  fi
  run "$venv/bin/pip" install --quiet --upgrade pip || fail "pip could not upgrade itself" "check outbound HTTPS to pypi.org"
  run "$venv/bin/pip" install --quiet --require-hashes -r "$APP_DIR/requirements.lock" \
    || fail "installing requirements.lock failed" "check outbound HTTPS to pypi.org; a hash mismatch means the lock and the download differ (re-run make lock)"
  if dry; then
    echo "    [dry-run] would write: $stamp"
  else
    echo "$want" >"$stamp"
  fi
  CHANGED=1
}

write_env_file() {
  step "environment file $ENV_FILE"
  if ! dry && [[ -f $ENV_FILE ]]; then
    note "kept (edit it by hand; this script never overwrites it)"
    return
  fi
  dry && note "(only if it does not exist yet)"
  if dry; then
    echo "    [dry-run] would run: deploy/render-env-file.sh .env.example > $ENV_FILE (mode 0600)"
    return
  fi
  echo "    + deploy/render-env-file.sh .env.example > $ENV_FILE (mode 0600)"
  (umask 077 && bash "$APP_DIR/deploy/render-env-file.sh" "$APP_DIR/.env.example" >"$ENV_FILE.new") \
    || fail "could not render the env file" "run deploy/render-env-file.sh by hand to see the error"
  mv "$ENV_FILE.new" "$ENV_FILE"
  note "check S3_BUCKET_NAME, AWS_REGION, MAIL_FROM and CORS_ORIGINS in it"
  CHANGED=1
}

check_aws_access() {
  step "check DynamoDB and S3 access with the instance role (as $SERVICE_USER, with $ENV_FILE)"
  if [[ ${SKIP_AWS_CHECKS:-0} == 1 ]]; then
    note "skipped (SKIP_AWS_CHECKS=1)"
    return
  fi
  # systemd-run reads the env file exactly as the service will, and runs as its user.
  local check=(systemd-run --quiet --pipe --wait --collect --property=User="$SERVICE_USER"
    --property=EnvironmentFile="$ENV_FILE" --property=WorkingDirectory="$APP_DIR"
    "$APP_DIR/.venv/bin/python" "$APP_DIR/scripts/check_aws_access.py")
  if [[ -n ${INSTANCE_REGION:-} && ${INSTANCE_REGION} != unknown ]] && ! grep -q "^AWS_REGION=$INSTANCE_REGION\$" "$ENV_FILE"; then
    note "note: AWS_REGION in $ENV_FILE is not the instance's region ($INSTANCE_REGION); fine if the tables live there"
  fi
  run "${check[@]}" || fail "the instance role cannot use the tables or the bucket (see the lines above)" \
    "attach the policy deploy/iam-policy.json to the role, check the table names and S3_BUCKET_NAME in $ENV_FILE, or create the stack deploy/cloudformation.yaml"
}

install_unit() {
  step "systemd unit $UNIT_FILE"
  local before=$CHANGED
  CHANGED=0
  install_file "$APP_DIR/deploy/dermalens.service" "$UNIT_FILE" 0644
  if [[ $CHANGED -eq 1 ]]; then
    run systemctl daemon-reload
  fi
  CHANGED=$((before | CHANGED))
  if dry || ! systemctl is-enabled --quiet "$SERVICE"; then
    run systemctl enable "$SERVICE"
  fi
}

install_nginx() {
  step "nginx reverse proxy (server_name ${DOMAIN:-_})"
  local name=${DOMAIN:-_} template=dermalens.conf rendered nginx_changed=0
  if [[ -n ${DOMAIN:-} && -f /etc/letsencrypt/live/$DOMAIN/fullchain.pem ]]; then
    template=dermalens-tls.conf
    note "certificate found for $DOMAIN: HTTPS config"
  elif [[ -n ${DOMAIN:-} ]]; then
    note "no certificate for $DOMAIN yet: HTTP config (EC2_DEPLOYMENT.md, 'TLS with certbot')"
  fi
  local before=$CHANGED
  CHANGED=0
  install_file "$APP_DIR/deploy/nginx/upstream.conf" "$NGINX_DIR/dermalens/upstream.conf" 0644
  install_file "$APP_DIR/deploy/nginx/proxy.conf" "$NGINX_DIR/dermalens/proxy.conf" 0644
  if dry; then
    echo "    [dry-run] would write: $NGINX_DIR/conf.d/dermalens.conf from deploy/nginx/$template with server_name $name"
    CHANGED=1
  else
    rendered=$(sed "s|__SERVER_NAME__|$name|g" "$APP_DIR/deploy/nginx/$template")
    if [[ ! -f $NGINX_DIR/conf.d/dermalens.conf || $(cat "$NGINX_DIR/conf.d/dermalens.conf") != "$rendered" ]]; then
      echo "    + write $NGINX_DIR/conf.d/dermalens.conf from deploy/nginx/$template"
      install -d -m 0755 "$NGINX_DIR/conf.d"
      printf '%s\n' "$rendered" >"$NGINX_DIR/conf.d/dermalens.conf"
      CHANGED=1
    else
      note "unchanged: $NGINX_DIR/conf.d/dermalens.conf"
    fi
  fi
  # Debian/Ubuntu's default site answers every host on port 80 before ours would.
  if dry || [[ -e $NGINX_DIR/sites-enabled/default ]]; then
    dry && note "(Debian/Ubuntu, if the default site is enabled)"
    run rm -f "$NGINX_DIR/sites-enabled/default"
    CHANGED=1
  fi
  if dry || [[ ! -d $CERTBOT_WEBROOT ]]; then run install -d -m 0755 "$CERTBOT_WEBROOT"; fi
  nginx_changed=$CHANGED
  CHANGED=$((before | CHANGED))
  run nginx -t -q || fail "nginx refused the configuration (see above)" "fix $NGINX_DIR/conf.d/dermalens.conf, or the site that clashes with it (a second default_server on port 80 in nginx.conf or conf.d)"
  if dry || ! systemctl is-enabled --quiet nginx; then run systemctl enable nginx; fi
  if dry || ! systemctl is-active --quiet nginx; then
    run systemctl start nginx
  elif [[ $nginx_changed -eq 1 ]]; then
    run systemctl reload nginx
  fi
}

start_service() {
  step "start $SERVICE (restarted only when something above changed)"
  if dry; then
    run systemctl restart "$SERVICE"
    note "(or 'systemctl start' when nothing changed and it is not running)"
  elif [[ $CHANGED -eq 1 ]]; then
    run systemctl restart "$SERVICE"
  elif ! systemctl is-active --quiet "$SERVICE"; then
    run systemctl start "$SERVICE"
  else
    note "running, nothing changed"
  fi
}

health_check() {
  step "health check: http://127.0.0.1:$PORT/health/ready, then through nginx"
  local direct=(curl -sS -f --max-time 5 "http://127.0.0.1:$PORT/health/ready")
  local proxied=(curl -sS -f --max-time 5 -H "Host: ${DOMAIN:-localhost}" "http://127.0.0.1/health/ready")
  if dry; then
    run "${direct[@]}"
    run "${proxied[@]}"
    return
  fi
  local attempt body=""
  for attempt in $(seq 1 30); do
    if body=$("${direct[@]}" 2>/dev/null); then
      break
    fi
    body=""
    sleep 2
  done
  if [[ -z $body ]]; then
    body=$(curl -sS --max-time 5 "http://127.0.0.1:$PORT/health/ready" 2>&1 || true)
    fail "the service is not ready after 60 s${body:+: $body}" \
      "read the reason: journalctl -u $SERVICE -n 50 --no-pager (a refused setting, a missing table or bucket is named there)"
  fi
  note "ready (attempt $attempt): $body"
  "${proxied[@]}" >/dev/null || fail "the service answers but nginx does not pass requests to it" \
    "check: nginx -t; journalctl -u nginx; tail /var/log/nginx/error.log"
  note "nginx passes requests through"
}

main() {
  check_os
  check_instance_role
  install_packages
  create_user_and_dirs
  sync_code
  install_venv
  write_env_file
  check_aws_access
  install_unit
  install_nginx
  start_service
  health_check
  if dry; then
    echo "==> dry run finished: nothing was changed"
  else
    echo "==> done: systemctl status $SERVICE; journalctl -u $SERVICE -f"
  fi
}

# Sourced (the tests call single steps): define the steps, run nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main
fi
