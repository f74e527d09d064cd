"""Single sign-on with OpenID Connect: the provider client (Authlib) and the rules that turn its ID token into a
console user."""
