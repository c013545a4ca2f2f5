"""A minimal third-party plugin: one evaluator and one CLI command."""

from wtb_core import hookimpl


def answer_length(case, outcome) -> float:
    """Length of the final ``answer`` (a toy metric)."""
    return float(len(str(outcome.state.get("answer", ""))))


@hookimpl
def wtb_register_evaluators(register):
    register("sample_answer_length", lambda: answer_length)


@hookimpl
def wtb_register_commands(cli):
    @cli.command("sample-hello")
    def hello() -> None:
        """Say hello from the sample plugin."""
        print("hello from wtb-sample-plugin")
