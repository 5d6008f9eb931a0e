"""Plans in Stripe: billing_sync_plans keeps product, price and VAT rate in step, idempotently."""

import io

import pytest
from django.core.management import CommandError, call_command

from billing import services
from billing.models import Plan

pytestmark = pytest.mark.django_db


def test_plans_bas_plus_pro_exist_at_299_599_999_kronor():
    assert list(Plan.objects.values_list("name", "monthly_price", "currency", "vat_percent")) == [
        ("Bas", 29900, "SEK", 25),
        ("Plus", 59900, "SEK", 25),
        ("Pro", 99900, "SEK", 25),
    ]


def test_sync_plans_creates_one_product_price_and_vat_rate_each_however_often_run(stripe_fake):
    out = io.StringIO()
    call_command("billing_sync_plans", stdout=out)
    call_command("billing_sync_plans", stdout=out)

    products, prices = stripe_fake.products(), stripe_fake.prices()
    assert sorted(p["name"] for p in products) == [
        "Pilot Ops Bas",
        "Pilot Ops Plus",
        "Pilot Ops Pro",
    ]
    assert sorted(
        (p["unit_amount"], p["currency"], p["recurring"]["interval"]) for p in prices
    ) == [
        (29900, "sek", "month"),
        (59900, "sek", "month"),
        (99900, "sek", "month"),
    ]
    assert len(stripe_fake.state.tax_rates) == 1
    (rate,) = stripe_fake.state.tax_rates.values()
    assert rate["percentage"] == 25 and rate["inclusive"] is False
    for plan in Plan.objects.all():
        assert plan.in_sync
        assert plan.stripe_tax_rate_id == rate["id"]
    assert "already in sync" in out.getvalue().splitlines()[-1]


def test_sync_plans_new_price_makes_a_new_stripe_price_and_archives_the_old(stripe_fake):
    services.plans_sync()
    plan = Plan.objects.get(name="Bas")
    old_price = plan.stripe_price_id

    Plan.objects.filter(pk=plan.pk).update(monthly_price=34900)
    services.plan_sync(plan=Plan.objects.get(pk=plan.pk))

    plan.refresh_from_db()
    prices = {p["id"]: p for p in stripe_fake.prices()}
    assert plan.stripe_price_id != old_price
    assert prices[plan.stripe_price_id]["unit_amount"] == 34900
    assert prices[plan.stripe_price_id]["active"] is True
    assert prices[old_price]["active"] is False
    assert len(stripe_fake.products()) == 3


def test_sync_plans_after_a_lost_answer_makes_nothing_twice(stripe_fake):
    stripe_fake.lose_answer_next("/v1/products")
    with pytest.raises(CommandError):
        call_command("billing_sync_plans", stdout=io.StringIO())

    call_command("billing_sync_plans", stdout=io.StringIO())

    assert len(stripe_fake.products()) == 3
    assert len(stripe_fake.prices()) == 3


def test_sync_plans_without_stripe_says_so(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY"):
        call_command("billing_sync_plans", stdout=io.StringIO())


def test_sync_plans_a_new_vat_rate_gets_its_own_stripe_tax_rate(stripe_fake):
    services.plans_sync()
    Plan.objects.filter(name="Pro").update(vat_percent=12)
    pro = Plan.objects.get(name="Pro")
    assert not pro.in_sync

    services.plan_sync(plan=pro)

    pro.refresh_from_db()
    rates = {rate["id"]: rate["percentage"] for rate in stripe_fake.state.tax_rates.values()}
    assert sorted(rates.values()) == [12, 25]
    assert rates[pro.stripe_tax_rate_id] == 12
    assert pro.in_sync
    assert rates[Plan.objects.get(name="Bas").stripe_tax_rate_id] == 25
