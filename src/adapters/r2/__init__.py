"""Media storage on Cloudflare R2 (or any S3-compatible service) through boto3."""
