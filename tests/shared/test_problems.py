"""One shape for every error: RFC 9457, French first, English beside."""

from datacommune.shared.problems import Problem, problem_body


class Sample(Problem):
    type = "/problems/sample"
    title = "Exemple"
    title_en = "Sample"
    status = 418


def test_problem_shape_is_pinned() -> None:
    body = Sample("Détail.", "Detail.", limit_bytes=10).body("/api/v1/x")
    assert body == {
        "type": "/problems/sample",
        "title": "Exemple",
        "status": 418,
        "detail": "Détail.",
        "title_en": "Sample",
        "detail_en": "Detail.",
        "instance": "/api/v1/x",
        "limit_bytes": 10,
    }


def test_extensions_never_override_standard_members() -> None:
    body = problem_body(
        type_="/t", title="T", title_en="T", status=400, detail="d", detail_en="d", status_x=1
    )
    assert body["status"] == 400
