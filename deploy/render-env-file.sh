#!/usr/bin/env bash
# Prints the production env file for /etc/dermalens/dermalens.env, made from .env.example.
# Used by setup_ec2.sh; it only reads and prints (no root, no install), so tests run it too.
#
#   S3_BUCKET_NAME=my-bucket AWS_REGION=eu-west-1 deploy/render-env-file.sh [path/to/.env.example]
#
# systemd's EnvironmentFile= keeps everything after `=` as the value, `# comments` included,
# so a template line carrying an inline comment is refused rather than shipped.
set -euo pipefail

template=${1:-$(dirname "$0")/../.env.example}

if grep -nE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*=.*#' "$template" >&2; then
  echo "$template: the lines above carry an inline # comment; move it to its own line" >&2
  exit 1
fi

# SECRET_KEY_SSM_PARAMETER / SECRET_KEY_SECRET_ID: the key is read through the instance role at
# start-up, so the file holds no key at all; otherwise a fresh one for this instance.
if [[ -n ${SECRET_KEY_SSM_PARAMETER:-} || -n ${SECRET_KEY_SECRET_ID:-} ]]; then
  secret=
else
  secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
fi
sed -e "s|^ENVIRONMENT=.*|ENVIRONMENT=production|" \
    -e "s|^SECRET_KEY=.*|SECRET_KEY=$secret|" \
    -e "s|^STORAGE_BACKEND=.*|STORAGE_BACKEND=s3|" \
    -e "s|^S3_BUCKET_NAME=.*|S3_BUCKET_NAME=${S3_BUCKET_NAME:-}|" \
    -e "s|^AWS_REGION=.*|AWS_REGION=${AWS_REGION:-us-east-1}|" \
    -e "s|^AWS_DYNAMODB_ENDPOINT=.*|AWS_DYNAMODB_ENDPOINT=|" \
    -e "s|^MAIL_BACKEND=.*|MAIL_BACKEND=ses|" \
    -e "s|^DERMALENS_DATA_DIR=.*|DERMALENS_DATA_DIR=/var/lib/dermalens|" \
    -e "s|^DOCS_ENABLED=.*|DOCS_ENABLED=false|" \
    -e "s|^TRUSTED_PROXIES=.*|TRUSTED_PROXIES=${TRUSTED_PROXIES:-}|" \
    -e "s|^DEPLOYMENT=.*|DEPLOYMENT=${DEPLOYMENT:-single}|" \
    -e "s|^CREATE_TABLES=.*|CREATE_TABLES=${CREATE_TABLES:-true}|" \
    -e "s|^SECRET_KEY_SSM_PARAMETER=.*|SECRET_KEY_SSM_PARAMETER=${SECRET_KEY_SSM_PARAMETER:-}|" \
    -e "s|^SECRET_KEY_SECRET_ID=.*|SECRET_KEY_SECRET_ID=${SECRET_KEY_SECRET_ID:-}|" \
    -e "s|^GEMINI_API_KEY_SSM_PARAMETER=.*|GEMINI_API_KEY_SSM_PARAMETER=${GEMINI_API_KEY_SSM_PARAMETER:-}|" \
    -e "s|^GEMINI_API_KEY_SECRET_ID=.*|GEMINI_API_KEY_SECRET_ID=${GEMINI_API_KEY_SECRET_ID:-}|" \
    "$template"
