"""What a failed read says: AWS's code and message, quoted on one line and kept short."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bot.aws.unseen import MESSAGE_LIMIT, error_message, read_failed


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "LookupEvents")


def test_an_aws_message_is_quoted_as_is() -> None:
    assert error_message(_client_error("AccessDeniedException", "User: x is not authorized")) == (
        "User: x is not authorized"
    )


def test_a_whole_html_error_page_is_quoted_on_one_line_and_cut_short() -> None:
    page = "<!DOCTYPE html>\n<html>\n  <head><title>500 Internal Server Error</title></head>\n" + (
        "  <body>" + "traceback line\n" * 500 + "</body>\n</html>\n"
    )
    quoted = error_message(_client_error("500", page))
    assert "\n" not in quoted
    assert len(quoted) == MESSAGE_LIMIT
    assert quoted.startswith("<!DOCTYPE html> <html> <head><title>500 Internal Server Error</title>")
    assert quoted.endswith("…")
    unseen = read_failed("CloudTrail", "LookupEvents", "us-east-1", "arn:aws:iam::1:role/r",
                         _client_error("500", page), statement=None, where="the reader role")
    assert len(unseen.reason) < MESSAGE_LIMIT + 120
