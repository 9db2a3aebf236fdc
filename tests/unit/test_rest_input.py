"""Client input the REST app must refuse with a 400 (never a 500, never a
traceback), and pagination of every list."""
import json

import pytest
from webob import Request

from dmm_ryu.ops.rest import BAD_REQUEST, INTERNAL_ERROR, MAX_LIMIT, RestApp
from tests.unit.fakeview import FakeView, many_bindings, response_schema, validate

BINDINGS = "/dmm/v1/cmd/bindings"


def raw_call(app, path_info: bytes, query: bytes = b""):
    """One request with raw bytes where a server puts them: WSGI carries the
    (percent-decoded) path and the query as latin-1 text."""
    environ = Request.blank("/").environ
    environ["PATH_INFO"] = path_info.decode("latin-1")
    environ["QUERY_STRING"] = query.decode("latin-1")
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


BAD_PATH = "the request path is not valid UTF-8"
BAD_QUERY = "the query string is not valid UTF-8"


@pytest.mark.parametrize("path, query, message", [
    (b"/dmm/v1/maars/\xff", b"", BAD_PATH),
    (b"/dmm/v1/cmd/bindings/mn\xc3", b"", BAD_PATH),
    (b"/\xed\xa0\x80", b"", BAD_PATH),                   # a lone surrogate
    (BINDINGS.encode(), b"maar=%ff", BAD_QUERY),
    (BINDINGS.encode(), b"maar=\xff", BAD_QUERY),
    (BINDINGS.encode(), b"%c3=1", BAD_QUERY),
    (b"/dmm/v1/stats", b"x=%80", BAD_QUERY),
])
def test_non_utf8_path_or_query_is_a_counted_json_400(path, query, message):
    view = FakeView()
    status, headers, body = raw_call(RestApp(view), path, query)
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert b"Traceback" not in body and b"Error" not in body
    assert json.loads(body) == {"code": 400, "message": message}
    assert view.stats().errors()[BAD_REQUEST] == 1


def test_valid_utf8_in_the_path_is_still_served():
    status, _, body = raw_call(RestApp(FakeView()), "/dmm/v1/maars/maär".encode())
    assert status == 404
    assert json.loads(body)["message"] == "unknown MAAR 'maär'"


@pytest.mark.parametrize("query, fragment", [
    ("limit=0", "limit must be an integer from 1 to 1000, not '0'"),
    ("limit=1001", "not '1001'"),
    ("limit=-5", "not '-5'"),
    ("limit=ten", "not 'ten'"),
    ("limit=%D9%A3", "not '٣'"),                       # a non-ASCII digit
    ("limit=" + "9" * 5000, "limit must be an integer"),   # longer than int() accepts
    ("after=", "non-empty"),
    ("limit=5&limit=6", "once"),
    ("cursor=x", "unknown query parameter 'cursor'"),
])
@pytest.mark.parametrize("path", [BINDINGS, "/dmm/v1/maars", "/dmm/v1/maars/maar1/bindings"])
def test_bad_paging_arguments_are_400(path, query, fragment):
    view = FakeView()
    response = Request.blank(f"{path}?{query}").get_response(RestApp(view))
    assert response.status_code == 400
    assert fragment in response.json["message"]
    assert INTERNAL_ERROR not in view.stats().errors()


def walk(app, path, key, item_list, **extra):
    """Follow ``next`` from the first page; every page checked against the
    document.  Returns the keys seen and the number of requests made."""
    seen, cursor, requests = [], None, 0
    template = extra.pop("template", path.split("?")[0])
    while True:
        query = "&".join(f"{k}={v}" for k, v in extra.items())
        query += f"&after={cursor}" if cursor is not None else ""
        response = Request.blank(f"{path}?{query}").get_response(app)
        requests += 1
        assert response.status_code == 200, response.text
        validate(response.json, response_schema(template, "GET", 200))
        seen += [item[key] for item in response.json[item_list]]
        cursor = response.json["next"]
        if cursor is None:
            return seen, requests


def test_pagination_walks_2500_bindings_each_exactly_once():
    view = FakeView(bindings=many_bindings(2500))
    seen, requests = walk(RestApp(view), BINDINGS, "mn_id", "bindings", limit=300)
    assert sorted(seen) == seen and len(set(seen)) == 2500
    assert requests == 9                                  # 8 full pages and a part page
    assert all(limit == 300 and returned <= 300 for limit, _, returned in view.pages_asked)


def test_pagination_with_a_filter_and_the_default_limit():
    view = FakeView(bindings=many_bindings(2500))
    seen, requests = walk(RestApp(view), BINDINGS, "mn_id", "bindings", maar="maar2")
    assert seen == [f"mn{i:05d}@dmm.example" for i in range(1, 2500, 3)]   # 834 of them
    assert requests == 9
    assert {limit for limit, _, _ in view.pages_asked} == {100}


def test_a_full_last_page_is_followed_by_one_empty_page():
    view = FakeView(bindings=many_bindings(2000))
    seen, requests = walk(RestApp(view), BINDINGS, "mn_id", "bindings", limit=MAX_LIMIT)
    assert len(seen) == 2000 and requests == 3
    assert view.pages_asked[-1] == (MAX_LIMIT, seen[-1], 0)


def test_maar_bindings_are_paged_through_the_view():
    view = FakeView(bindings=many_bindings(250))
    seen, _ = walk(RestApp(view), "/dmm/v1/maars/maar3/bindings", "mn_id", "bindings",
                   template="/dmm/v1/maars/{name}/bindings", limit=20)
    assert seen == [f"mn{i:05d}@dmm.example" for i in range(2, 250, 3)]
    assert max(returned for _, _, returned in view.pages_asked) == 20


class UnpagedView(FakeView):
    """A view whose ``bindings`` predates paging (no limit/after)."""

    def bindings(self, maar=None, prefix=None):
        return super().bindings(maar, prefix)


def test_a_view_that_cannot_page_is_cut_by_the_app():
    view = UnpagedView(bindings=list(reversed(many_bindings(250))))
    seen, requests = walk(RestApp(view), BINDINGS, "mn_id", "bindings", limit=100)
    assert seen == sorted(seen) and len(set(seen)) == 250 and requests == 3
    assert {limit for limit, _, _ in view.pages_asked} == {None}


def test_maars_are_paged_by_name():
    seen, requests = walk(RestApp(FakeView()), "/dmm/v1/maars", "name", "maars", limit=2)
    assert seen == ["maar1", "maar2", "maar3"] and requests == 2
