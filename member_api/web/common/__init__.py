"""What every web area shares: the encrypted session cookie, CSRF, templates, static files and error pages."""
