#!/usr/bin/env bash
# Installs DermaLens as a systemd service on an EC2 instance (Amazon Linux 2023 or Ubuntu).
# Run as root from the repository checkout. Safe to run again (it keeps an existing env file).
#
#   sudo S3_BUCKET_NAME=my-bucket AWS_REGION=eu-west-1 ./setup_ec2.sh
#   deploy/render-env-file.sh      # only print the env file it would write (no root needed)
set -euo pipefail

APP_DIR=/opt/dermalens
ENV_DIR=/etc/dermalens
ENV_FILE=$ENV_DIR/dermalens.env
SERVICE_USER=dermalens

if [[ $EUID -ne 0 ]]; then echo "run as root (sudo $0)" >&2; exit 1; fi

echo "==> installing system packages"
if command -v dnf >/dev/null; then
  dnf install -y python3.11 python3.11-pip rsync
  PYTHON=python3.11
else
  apt-get update -y && apt-get install -y python3 python3-venv rsync
  PYTHON=python3
fi
$PYTHON -c 'import sys; sys.exit("Python 3.11+ required") if sys.version_info < (3, 11) else None'

echo "==> creating user and directories"
id -u $SERVICE_USER >/dev/null 2>&1 || useradd --system --home $APP_DIR --shell /usr/sbin/nologin $SERVICE_USER
mkdir -p $APP_DIR $ENV_DIR
rsync -a --delete --exclude .venv --exclude .data --exclude node_modules --exclude .git ./ $APP_DIR/

echo "==> installing Python dependencies"
$PYTHON -m venv $APP_DIR/.venv
$APP_DIR/.venv/bin/pip install --quiet --upgrade pip
$APP_DIR/.venv/bin/pip install --quiet --require-hashes -r $APP_DIR/requirements.lock
chown -R $SERVICE_USER:$SERVICE_USER $APP_DIR

if [[ ! -f $ENV_FILE ]]; then
  echo "==> writing $ENV_FILE (check S3_BUCKET_NAME, AWS_REGION and MAIL_FROM)"
  (umask 077 && bash $APP_DIR/deploy/render-env-file.sh $APP_DIR/.env.example > $ENV_FILE.new)
  mv $ENV_FILE.new $ENV_FILE
fi
mkdir -p /var/lib/dermalens && chown $SERVICE_USER:$SERVICE_USER /var/lib/dermalens

echo "==> installing systemd unit"
cat > /etc/systemd/system/dermalens.service <<UNIT
[Unit]
Description=DermaLens API
After=network-online.target
Wants=network-online.target

[Service]
User=$SERVICE_USER
Group=$SERVICE_USER
WorkingDirectory=$APP_DIR
EnvironmentFile=$ENV_FILE
ExecStart=$APP_DIR/.venv/bin/uvicorn --factory app.main:create_app --host 0.0.0.0 --port \${PORT} --no-proxy-headers --no-server-header
Restart=on-failure
RestartSec=3
TimeoutStopSec=60
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
ReadWritePaths=/var/lib/dermalens

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable dermalens
systemctl restart dermalens
echo "==> done: systemctl status dermalens; curl -s localhost:8000/health/ready"
