#!/usr/bin/env python3
"""Commands of the `hello` example workflow, run by flowmcp's `exec` executor.

flowmcp starts this script once per command call, in the workflow folder, and writes the
request to its stdin as JSON:

    {"command_name": "add_two_numbers", "parameters": {"first_num": 2, "second_num": 3.5},
     "channel_id": "local", "user_id": null}

The parameters were already validated against tools/<command>.toml. The script answers on
stdout with either
  - a CommandResponse JSON object: {"response": "...", "success": true, "artifacts": {...}}, or
  - plain text, taken as a successful response.
A non-zero exit code is a failed command; the end of stderr is reported with it.
"""

import json
import sys


def add_two_numbers(params):
    total = params["first_num"] + params["second_num"]
    return {
        "response": f"The sum of {params['first_num']} and {params['second_num']} is {total}.",
        "success": True,
        "artifacts": {"sum": total},
    }


def divide_numbers(params):
    dividend, divisor = params["dividend"], params["divisor"]
    if divisor == 0:
        # A failure the user should read: success=false, with a helpful message.
        return {"response": "Cannot divide by zero; give a divisor other than 0.", "success": False}
    quotient = dividend / divisor
    return {
        "response": f"{dividend} divided by {divisor} is {quotient:g}.",
        "success": True,
        "artifacts": {"quotient": quotient},
    }


def greet(params):
    # Plain text works too: flowmcp wraps it in a successful response.
    return f"Hello, {params['name']}! Nice to meet you."


COMMANDS = {
    "add_two_numbers": add_two_numbers,
    "divide_numbers": divide_numbers,
    "greet": greet,
}


def main():
    try:
        request = json.load(sys.stdin)
        command = COMMANDS[request["command_name"]]
        params = request.get("parameters") or {}
    except (ValueError, KeyError, TypeError) as exc:
        # Exit code != 0: flowmcp reports the command as failed with this stderr text.
        print(f"hello.py: bad request: {exc!r}", file=sys.stderr)
        return 2
    answer = command(params)
    if isinstance(answer, str):
        print(answer)
    else:
        json.dump(answer, sys.stdout)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
