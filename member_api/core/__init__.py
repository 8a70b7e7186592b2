"""The kernel: errors, clock, types, request context, keys, observability, uploads and blob storage, idempotency,
rate limits and the principal. Imports no area."""
