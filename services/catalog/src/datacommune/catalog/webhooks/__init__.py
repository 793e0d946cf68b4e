"""Signed webhooks: subscriptions, and the deliveries that tell reusers what opened."""
