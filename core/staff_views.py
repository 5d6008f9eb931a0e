"""Staff pages outside the model admin: a second factor, and the back office's language."""

import base64

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from core import i18n, security, services
from core.models import StaffProfile


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_member_required
def second_factor(request):
    """Add an authenticator app (and get backup codes), or verify this session with a code."""
    user = request.user
    has_device = user_has_device(user)
    form = CodeForm(request.POST or None)
    backup_codes = None
    device = None if has_device else security.totp_device_pending(user)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if has_device:
            verified = match_token(user, code.replace(" ", ""))
            if verified is not None:
                otp_login(request, verified)
                messages.success(request, gettext("Second factor checked."))
                return redirect("admin:index")
        else:
            confirmed = security.second_factor_confirm(user=user, token=code, request=request)
            if confirmed is not None:
                otp_login(request, confirmed.device)
                backup_codes = confirmed.backup_codes
                device = None
        if backup_codes is None:
            form.add_error("code", gettext("That code is not right or has expired."))
    context = {
        **admin.site.each_context(request),
        "title": gettext("Second factor"),
        "form": form,
        "has_device": has_device,
        "device": device,
        "key": base64.b32encode(device.bin_key).decode() if device else "",
        "backup_codes": backup_codes,
        "required": security.second_factor_required(user),
    }
    return TemplateResponse(request, "admin/second_factor.html", context)


class StaffLanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of the back office"), choices=StaffProfile.Language.choices
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_member_required
def staff_language(request):
    """Choose the language the back office speaks to you."""
    form = StaffLanguageForm(
        request.POST or None, initial={"language": i18n.staff_language(request.user)}
    )
    if request.method == "POST" and form.is_valid():
        services.staff_language_set(user=request.user, language=form.cleaned_data["language"])
        return redirect("admin:index")
    return TemplateResponse(
        request,
        "admin/staff_language.html",
        {**admin.site.each_context(request), "title": gettext("Language"), "form": form},
        status=400 if form.errors else 200,
    )
