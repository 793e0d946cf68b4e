"""``datacommune token …`` and ``datacommune delegate``: an organization's administrators
manage its tokens and who may publish for it."""

import json
import os
import sys
from typing import Any

import httpx

from datacommune.cli import credentials, display, up


def call(
    method: str,
    path: str,
    *,
    token: str | None,
    url: str | None,
    body: dict[str, Any] | None = None,
) -> Any:
    base = url or os.environ.get("DATACOMMUNE_CATALOG_URL") or up.urls()["catalog"]
    response = httpx.request(
        method,
        f"{base}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=30,
    )
    if response.status_code >= 400:
        display.problem(response.json())
        sys.exit(2)
    return response.json() if response.content else None


def run_token(args: Any) -> int:
    """token create | list | revoke, with the organization's admin token (saved under var)."""
    token = credentials.organization_token(var=args.var, org=args.org, token=args.token)
    path = f"/organizations/{args.org}/tokens"
    if args.token_command == "create":
        body = {"role": args.role, "label": args.label or "", "expires_in_days": args.days}
        created = call("POST", path, token=token, url=args.url, body=body)
        print(json.dumps(created, ensure_ascii=False, indent=2))
        print(
            "Le jeton n'est montré qu'une fois : transmettez-le par un canal sûr.\n"
            "(The token is shown once only.)",
            file=sys.stderr,
        )
    elif args.token_command == "list":
        for item in call("GET", path, token=token, url=args.url)["items"]:
            state = (
                "révoqué" if item["revoked_at"] else (f"expire {item['expires_at'] or 'jamais'}")
            )
            print(f"{item['id']}  {item['role']:<9}  {state:<40}  {item['label']}")
    else:
        call("DELETE", f"{path}/{args.id}", token=token, url=args.url)
        print(f"Jeton {args.id} révoqué. / Token revoked.")
    return 0


def run_delegate(args: Any) -> int:
    """Let the territory above (EPCI, département) publish for this organization, or stop."""
    if not args.to:
        print("Précisez --to (l'EPCI ou le département), ou « delegate list ».", file=sys.stderr)
        return 2
    token = credentials.organization_token(var=args.var, org=args.org, token=args.token)
    path = f"/organizations/{args.org}/delegations"
    if args.remove:
        call("DELETE", f"{path}/{args.to}", token=token, url=args.url)
        print(f"« {args.to} » ne publie plus pour « {args.org} ».")
    else:
        call("POST", path, token=token, url=args.url, body={"delegate": args.to})
        print(
            f"« {args.to} » peut publier pour « {args.org} » (avec un jeton admin, "
            f"« datacommune publish … --on-behalf-of {args.org} »)."
        )
    return 0


def run_org_list(args: Any) -> int:
    """Every organization, with its kind and the territory it belongs to (public)."""
    for org in call("GET", "/organizations", token=None, url=args.url)["items"]:
        above = f"  (dans / in {org['parent']})" if org.get("parent") else ""
        print(f"{org['slug']:<32} {org['kind']:<14} {org['name']}{above}")
    return 0


def run_delegate_list(args: Any) -> int:
    """Who may publish for the organization (public)."""
    listed = call("GET", f"/organizations/{args.org}/delegations", token=None, url=args.url)
    delegates = listed["delegates"]
    if not delegates:
        print(f"Personne ne publie pour « {args.org} ». / Nobody publishes for {args.org}.")
    for delegate in delegates:
        print(delegate)
    return 0


def run_dataset_set(args: Any) -> int:
    """A dataset's title and description, with a publisher token of its organization."""
    body = {k: v for k, v in (("title", args.title), ("description", args.description)) if v}
    if not body:
        print("Rien à changer : donnez --title ou --description.", file=sys.stderr)
        return 2
    token = credentials.organization_token(var=args.var, org=args.org, token=args.token)
    changed = call("PATCH", f"/datasets/{args.slug}", token=token, url=args.url, body=body)
    print(f"« {changed['slug']} » : {changed['title']}")
    return 0


def add_parsers(commands: Any, add_remote: Any) -> None:
    p_token = commands.add_parser("token", help="jetons d'une organisation / tokens")
    token_commands = p_token.add_subparsers(dest="token_command", required=True)
    for name, helptext in (
        ("create", "créer un jeton (viewer, publisher, admin)"),
        ("list", "lister les jetons"),
        ("revoke", "révoquer un jeton"),
    ):
        p = token_commands.add_parser(name, help=helptext)
        add_remote(p)
        p.add_argument("--org", required=True, help="l'organisation")
        p.add_argument("--token", help="un jeton admin de l'organisation (sinon ./var)")
        p.add_argument("--url", help="catalogue distant / remote catalog URL")
        if name == "create":
            p.add_argument("--role", choices=["viewer", "publisher", "admin"], default="publisher")
            p.add_argument("--days", type=int, default=365, help="validité en jours (365)")
            p.add_argument("--label", help="à qui il est confié (ex. « secrétariat »)")
        if name == "revoke":
            p.add_argument("id", help="l'identifiant du jeton (« token list »)")
    p_del = commands.add_parser("delegate", help="déléguer la publication / delegate publishing")
    add_remote(p_del)
    p_del.add_argument(
        "delegate_command",
        nargs="?",
        choices=["list"],
        help="« list » : qui publie pour la commune (sans --to)",
    )
    p_del.add_argument("--org", required=True, help="la commune qui délègue")
    p_del.add_argument("--to", help="l'EPCI ou le département au-dessus d'elle")
    p_del.add_argument("--remove", action="store_true", help="retirer la délégation")
    p_del.add_argument("--token", help="un jeton admin de la commune (sinon ./var)")
    p_del.add_argument("--url", help="catalogue distant / remote catalog URL")
    p_set = commands.add_parser("dataset", help="un jeu de données / a dataset")
    set_commands = p_set.add_subparsers(dest="dataset_command", required=True)
    p_title = set_commands.add_parser("set", help="changer son titre ou sa description")
    add_remote(p_title)
    p_title.add_argument("slug", help="le jeu de données (ex. subventions-2025)")
    p_title.add_argument("--title", help="titre (ex. « Subventions 2025 — Roques »)")
    p_title.add_argument("--description", help="description (Markdown)")
    p_title.add_argument("--org", help="organisation dont le jeton est dans ./var")
    p_title.add_argument("--token", help="jeton de l'organisation (ou DATACOMMUNE_TOKEN)")
    p_title.add_argument("--url", help="catalogue distant / remote catalog URL")
