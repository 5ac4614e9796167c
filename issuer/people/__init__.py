"""People who sign in to the console: accounts, passwords, second factors, roles, password resets."""
