"""Errors the Stripe fake answers with, in Stripe's JSON shape."""


class StripeFailure(Exception):
    def __init__(self, status: int, error_type: str, message: str, code: str = "", param: str = ""):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param
