"""The residents' H5 app at /app/: login, binding, home, e-credential, clinics, history, claims, dependants."""
