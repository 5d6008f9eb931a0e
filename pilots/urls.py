from django.urls import path, re_path

from pilots import views

app_name = "pilots"

# Tokens are lower-case base32; anything else cannot be a code and is a 404 without a lookup.
urlpatterns = [
    path("privacy/", views.privacy, name="privacy"),
    path("rewards/claim/<str:token>/", views.reward_claim, name="reward-claim"),
    path("rewards/claimed/<str:token>/", views.reward_claimed, name="reward-claimed"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe-webhook"),
    re_path(r"^q/(?P<token>[a-z2-7]{16,64})/$", views.feedback_form, name="feedback-form"),
    re_path(
        r"^q/(?P<token>[a-z2-7]{16,64})/thanks/$", views.feedback_thanks, name="feedback-thanks"
    ),
]
