from core.request_id import REQUEST_ID_HEADER, bind_request_id, request_id_from_header


class RequestIdMiddleware:
    """Give every request an id, put it on its log lines and its response.

    The id stays bound after the response: Django logs 4xx/5xx responses
    once the middleware chain has returned, and those lines need it too. The
    next request in the same thread binds its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from_header(request.headers.get(REQUEST_ID_HEADER))
        bind_request_id(request.request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response
