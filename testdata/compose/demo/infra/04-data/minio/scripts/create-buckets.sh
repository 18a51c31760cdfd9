#!/bin/sh
# Creates the S3 buckets. Idempotent (REQ-SPC-AUTO-001): a bucket that
# exists is left alone. Fails fast (REQ-SPC-AUTO-002): bounded retries with
# backoff, exit 1 when the endpoint never answers. Never prints a secret.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
ak="$(cat /run/secrets/s3_access_key)"
sk="$(cat /run/secrets/s3_secret_key)"
# SigV4 with the hash of the empty payload (versitygw requires the header).
empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3() {
  curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ak:$sk" \
    -H "x-amz-content-sha256: $empty" "$@"
}
i=0
delay=1
until [ "$(s3 "$S3_ENDPOINT/" 2>/dev/null)" = "200" ]; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "minio-create-buckets: $S3_ENDPOINT not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep "$delay"
  [ "$delay" -lt 4 ] && delay=$((delay * 2))
done
for b in $BUCKETS; do
  code="$(s3 -I "$S3_ENDPOINT/$b")"
  if [ "$code" = "200" ]; then
    echo "bucket $b: already exists"
    continue
  fi
  code="$(s3 -X PUT "$S3_ENDPOINT/$b")"
  case "$code" in
    200) echo "bucket $b: created" ;;
    409) echo "bucket $b: already exists" ;;
    *) echo "bucket $b: create failed with HTTP $code" >&2; exit 1 ;;
  esac
done
echo "minio-create-buckets: buckets ready: $BUCKETS"
