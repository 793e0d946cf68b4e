"""The commands a person types: `datacommune up`, `org create`, `publish`, `validate`."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import servers

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "datacommune.cli.main"]


def cli(*args: str, env: dict[str, str] | None = None) -> "subprocess.CompletedProcess[str]":
    """Run the ``datacommune`` command as a person would, from the project's folder."""
    return subprocess.run(
        [*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


SCHEMAS = ROOT / "services" / "validate" / "src" / "datacommune" / "validate" / "schemas"


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts survivors through /proc (Linux)")
def test_up_quickstart_and_ctrl_c(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = dict(os.environ, DATACOMMUNE_VAR=str(var), PYTHONUNBUFFERED="1")
    for name in ("ingest", "validate", "catalog", "events", "nats"):
        env[f"DATACOMMUNE_{name.upper()}_PORT"] = str(servers.free_port())
    with subprocess.Popen(
        [*CLI, "up"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as up:
        _quickstart(up, env, var, tmp_path)
    assert up.returncode == 0
    assert processes_mentioning(str(var)) == [], "no process of the platform may survive"


def _quickstart(
    up: "subprocess.Popen[str]", env: dict[str, str], var: Path, tmp_path: Path
) -> None:
    try:
        banner = []
        assert up.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            banner.append(line)
            if "Ctrl-C" in line or not line:
                break
        text = "".join(banner)
        assert "datacommune est prêt" in text, text
        assert "jeton / token: dc_" in text
        assert f"http://127.0.0.1:{env['DATACOMMUNE_CATALOG_PORT']}" in text

        # The README's quickstart, as typed.
        published = cli(
            "publish",
            "examples/roques-subventions-2025.csv",
            "--dataset",
            "subventions-roques",
            "--schema",
            "scdl-subventions",
            "--org",
            "roques",
            env=env,
        )
        assert published.returncode == 0, published.stderr
        assert "publié / published" in published.stderr
        catalog = f"http://127.0.0.1:{env['DATACOMMUNE_CATALOG_PORT']}"
        dataset = httpx.get(f"{catalog}/api/v1/datasets/subventions-roques").json()
        download = httpx.get(dataset["resources"][0]["download_url"])
        assert download.content == (ROOT / "examples" / "roques-subventions-2025.csv").read_bytes()

        created = cli(
            "org", "create", "--slug", "sicoval", "--name", "Sicoval", "--kind", "epci", env=env
        )
        assert created.returncode == 0, created.stderr
        org = json.loads(created.stdout)
        assert org["slug"] == "sicoval"
        assert org["token"].startswith("dc_")
        assert (var / "credentials" / "sicoval.json").stat().st_mode & 0o077 == 0
        assert "Jeton enregistré" in created.stderr

        taken = cli(
            "org", "create", "--slug", "sicoval", "--name", "Sicoval", "--kind", "epci", env=env
        )
        assert taken.returncode == 2
        assert "existe déjà" in taken.stderr
        assert "already exists" in taken.stderr

        # Roques joins the Sicoval: its subsidies enter the Sicoval's pooled data.
        moved = cli("org", "move", "--slug", "roques", "--parent", "sicoval", env=env)
        assert moved.returncode == 0, moved.stderr
        assert json.loads(moved.stdout)["parent"] == "sicoval"
        deadline = time.monotonic() + 20
        pool = f"{catalog}/api/v1/pools/sicoval--scdl-subventions"
        while httpx.get(pool).status_code != 200:
            assert time.monotonic() < deadline, "the Sicoval's pooled data did not appear"
            time.sleep(0.1)
        assert httpx.get(pool).json()["contributing"] == ["roques"]
        looped = cli("org", "move", "--slug", "sicoval", "--parent", "roques", env=env)
        assert looped.returncode == 2
        assert "boucle" in looped.stderr

        # A commune of the Sicoval delegates publishing to it, and gets a viewer token.
        member = cli(
            "org", "create", "--slug", "labege", "--name", "Labège", "--parent", "sicoval", env=env
        )
        assert member.returncode == 0, member.stderr
        delegated = cli("delegate", "--org", "labege", "--to", "sicoval", env=env)
        assert delegated.returncode == 0, delegated.stderr
        assert "peut publier pour « labege »" in delegated.stdout
        viewer = cli("token", "create", "--org", "labege", "--role", "viewer", env=env)
        assert viewer.returncode == 0, viewer.stderr
        assert json.loads(viewer.stdout)["role"] == "viewer"
        listed = cli("token", "list", "--org", "labege", env=env)
        assert listed.stdout.count("\n") == 2  # the creation token and the viewer's
        for_member = cli(
            "publish",
            "examples/roques-subventions-2025.csv",
            "--dataset",
            "subventions-labege",
            "--org",
            "sicoval",
            "--on-behalf-of",
            "labege",
            env=env,
        )
        assert for_member.returncode == 0, for_member.stderr
        # Published without a schema, the command says which national one it looks like.
        assert "Schéma probable : scdl-subventions@2.1.1" in for_member.stderr
        published_for = httpx.get(f"{catalog}/api/v1/datasets/subventions-labege").json()
        assert published_for["organization"] == "labege"
        assert published_for["resources"][0]["versions"][0]["uploaded_by"] == "sicoval"

        send_invalid = [
            "publish",
            "tests/data/corpus/schemas/scdl-subventions/exemple_invalide_erreurs_colonnes.csv",
            *("--dataset", "subventions-sicoval", "--schema", "scdl-subventions"),
            *("--org", "sicoval"),
        ]
        invalid = cli(*send_invalid, env=env)
        assert invalid.returncode == 1
        assert "n'est pas conforme au schéma scdl-subventions@2.1.1 : 65 erreurs" in invalid.stderr
        # Grouped as on the report page: each kind once, with its columns and what to do.
        assert "  - Colonne en trop : 1 colonne [remarque]" in invalid.stderr
        assert "    colonnes : « NOM_Beneficiaire »" in invalid.stderr
        # Never stuck: which upload, and the page where its report is read.
        upload_line = next(x for x in invalid.stderr.splitlines() if "rapport / report:" in x)
        assert "/espace/depots/" in upload_line
        as_json = cli(*send_invalid, "--json", env=env)
        assert as_json.returncode == 1
        outcome = json.loads(as_json.stdout)
        assert outcome["status"] == "invalid"
        assert outcome["report"]["summary"]["errors"] == 65
        assert outcome["page_url"] in as_json.stderr

        organizations = cli("org", "list", env=env)
        assert organizations.returncode == 0, organizations.stderr
        assert any(
            line.startswith("labege") and "(dans / in sicoval)" in line
            for line in organizations.stdout.splitlines()
        )
        delegates = cli("delegate", "list", "--org", "labege", env=env)
        assert delegates.stdout.split() == ["sicoval"]
        titled = cli(
            "dataset", "set", "subventions-labege", "--title", "Subventions 2025 — Labège",
            "--org", "labege", env=env,
        )  # fmt: skip
        assert titled.returncode == 0, titled.stderr
        named = httpx.get(f"{catalog}/api/v1/datasets/subventions-labege").json()
        assert named["title"] == "Subventions 2025 — Labège"

        # From another terminal, in another folder, with none of up's variables: the platform
        # and its tokens are found where up recorded them.
        elsewhere = {
            k: v
            for k, v in env.items()
            if not (
                k.startswith("DATACOMMUNE_") and (k.endswith("_PORT") or k == "DATACOMMUNE_VAR")
            )
        }
        away = subprocess.run(
            [*CLI, "delegate", "list", "--org", "labege"],
            env=elsewhere,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert away.returncode == 0, away.stderr
        assert away.stdout.split() == ["sicoval"]

        refused = cli(
            "publish", str(tmp_path / "absent.csv"), "--dataset", "x", "--org", "sicoval", env=env
        )
        assert refused.returncode != 0
        assert "introuvable" in refused.stderr
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
    assert up.stdout is not None
    assert "Arrêté proprement" in up.stdout.read()
    # The platform stopped: a command says so in French, with its exit code, no traceback.
    stopped = cli("org", "list", env=env)
    assert stopped.returncode == 2
    assert "Impossible de joindre http://127.0.0.1:" in stopped.stderr
    assert "Traceback" not in stopped.stderr


def test_validate_offline_in_french(corpus: Path) -> None:
    bad = corpus / "schemas" / "scdl-subventions" / "exemple_invalide_erreurs_colonnes.csv"
    result = cli("validate", str(bad), "--schema", "scdl-subventions")
    assert result.returncode == 1
    assert "n'est pas conforme au schéma scdl-subventions@2.1.1 : 65 erreurs" in result.stdout
    as_json = cli(
        "validate",
        str(corpus / "real" / "com-castelmaurou-subventions.csv"),
        "--schema",
        str(SCHEMAS / "scdl-subventions" / "schema.json"),
        "--json",
    )
    assert as_json.returncode == 0, as_json.stdout
    assert json.loads(as_json.stdout)["valid"] is True


def test_schemas_are_listed() -> None:
    result = cli("schemas")
    assert result.returncode == 0
    assert "scdl-subventions@2.1.1" in result.stdout


def test_a_bad_dataset_name_is_refused_before_sending(tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_text("a\n1\n")
    result = cli(
        "publish",
        str(data),
        "--dataset",
        "Mon Jeu",
        "--token",
        "dc_x",
        "--url",
        "http://127.0.0.1:9",
    )
    assert result.returncode == 2
    assert "n'est pas un identifiant de jeu de données valide" in result.stderr


def test_validate_writes_the_html_page(corpus: Path, tmp_path: Path) -> None:
    page = tmp_path / "rapport.html"
    result = cli(
        "validate",
        str(corpus / "schemas/scdl-subventions/exemple_invalide_erreurs_colonnes.csv"),
        "--schema",
        "scdl-subventions",
        "--format",
        "html",
        "--output",
        str(page),
    )
    assert result.returncode == 1
    text = page.read_text(encoding="utf-8")
    assert "<html lang='fr'>" in text
    assert "Nombre de problèmes par type" in text


def test_deep_json_refused_with_nonzero_exit(tmp_path: Path) -> None:
    deep = tmp_path / "profond.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = cli("validate", str(deep))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "plus de 64 niveaux" in result.stdout
    assert "(The JSON nests lists or objects more than 64 levels deep" in result.stdout


def test_schemas_dirs_adds_to_the_shipped_schemas(tmp_path: Path) -> None:
    """An operator's folder of schemas comes beside the shipped ones, for the commands as for
    the validate service."""
    own = tmp_path / "schemas" / "equipements-roques"
    own.mkdir(parents=True)
    (own / "schema.json").write_text(
        json.dumps({"title": "Équipements de Roques", "version": "1.0.0", "fields": [
            {"name": "nom", "type": "string", "constraints": {"required": True}}
        ]}),
        encoding="utf-8",
    )  # fmt: skip
    env = dict(os.environ, SCHEMAS_DIRS=json.dumps([str(tmp_path / "schemas")]))
    listed = cli("schemas", env=env)
    assert "equipements-roques@1.0.0" in listed.stdout
    assert "scdl-subventions@2.1.1" in listed.stdout
    sample = tmp_path / "equipements.csv"
    sample.write_text("nom\nSalle des fêtes\n", encoding="utf-8")
    checked = cli("validate", str(sample), "--schema", "equipements-roques", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "conforme au schéma equipements-roques@1.0.0" in checked.stdout
