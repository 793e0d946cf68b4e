"""``datacommune``: the command a commune, an administrator or a developer types.

datacommune up                         # the whole platform on embedded defaults
datacommune org create --slug roques --name "Roques" --kind commune
datacommune publish FILE --dataset SLUG [--schema ID] [--title …]
datacommune validate FILE [--schema ID|PATH] [--json]
datacommune org list | datacommune delegate list --org SLUG
datacommune dataset set SLUG --title … --description …
datacommune backup DEST | datacommune restore SRC [--replace]
"""

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

# publish, offline and backup are imported by their own commands: they bring FastAPI,
# frictionless and the storage clients, most of a command's start (0.8 of 1 s).
from datacommune.cli import access, credentials, node, places, up


def default_var() -> Path:
    """``DATACOMMUNE_VAR``; else ./var when there is one; else the folder of the platform
    ``datacommune up`` started (so any terminal finds its tokens); else ./var."""
    if given := os.environ.get("DATACOMMUNE_VAR"):
        return Path(given)
    here = Path("var")
    if not here.is_dir() and (state := up.started()):
        return Path(state["var"])
    return here


def _add_remote(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        type=Path,
        default=default_var(),
        help="dossier d'état local / local state folder (défaut ./var, ou celui de « up »)",
    )


def _add_fix(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fix",
        action="store_true",
        help="appliquer les corrections sûres (encodage, séparateur, dates, nombres…)",
    )


def _add_reading(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoding", help="encodage, si la détection se trompe (ex. cp1252)")
    parser.add_argument("--delimiter", help="séparateur, si la détection se trompe : , ; | ou tab")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datacommune", description="Publier ensemble les données ouvertes des collectivités."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p_up = commands.add_parser("up", help="démarrer toute la plateforme / start the platform")
    _add_remote(p_up)
    # up starts a platform here: in ./var (or DATACOMMUNE_VAR), never in another one's folder.
    p_up.set_defaults(var=Path(os.environ.get("DATACOMMUNE_VAR", "var")))
    p_up.add_argument("--no-demo", action="store_true", help="sans organisation de démonstration")

    p_org = commands.add_parser("org", help="organisations")
    org_commands = p_org.add_subparsers(dest="org_command", required=True)
    p_list = org_commands.add_parser("list", help="les organisations inscrites")
    p_list.add_argument("--url", help="catalogue distant / remote catalog URL")
    p_create = org_commands.add_parser("create", help="inscrire une organisation")
    _add_remote(p_create)
    p_create.add_argument(
        "--slug", required=True, help="identifiant : a-z, 0-9 et « - » (ex. saint-orens)"
    )
    p_create.add_argument("--name", required=True, help="nom affiché (ex. « Saint-Orens »)")
    p_create.add_argument(
        "--kind",
        default="commune",
        choices=["commune", "epci", "departement", "region", "syndicat", "autre"],
    )
    p_create.add_argument("--siren", help="9 chiffres")
    p_create.add_argument("--insee", help="code INSEE de la commune, 5 caractères")
    p_create.add_argument("--parent", help="le territoire au-dessus (EPCI, département)")
    p_create.add_argument("--url", help="catalogue distant / remote catalog URL")
    p_create.add_argument("--admin-token", help="jeton administrateur (sinon ./var)")

    p_move = org_commands.add_parser(
        "move", help="rattacher à un autre territoire / move to another territory"
    )
    _add_remote(p_move)
    p_move.add_argument("--slug", required=True, help="l'organisation (ex. roques)")
    p_move.add_argument("--parent", help="le nouveau territoire au-dessus ; absent : aucun")
    p_move.add_argument("--url", help="catalogue distant / remote catalog URL")
    p_move.add_argument("--admin-token", help="jeton administrateur (sinon ./var)")

    p_pub = commands.add_parser("publish", help="publier un fichier / publish a file")
    _add_remote(p_pub)
    p_pub.add_argument("file", type=Path, help="CSV, XLSX, ODS ou JSON")
    p_pub.add_argument(
        "--dataset", required=True, help="jeu de données : a-z, 0-9, « - » (ex. subventions-2025)"
    )
    p_pub.add_argument("--schema", help="schéma national (voir « datacommune schemas »)")
    p_pub.add_argument("--title", help="titre du fichier ; même titre = nouvelle version")
    _add_reading(p_pub)
    _add_fix(p_pub)
    p_pub.add_argument("--org", help="organisation dont le jeton est dans ./var")
    p_pub.add_argument("--token", help="jeton de l'organisation (ou DATACOMMUNE_TOKEN)")
    p_pub.add_argument("--url", help="ingest distant / remote ingest URL")
    p_pub.add_argument(
        "--timeout", type=float, default=300, help="secondes d'attente du résultat (300)"
    )

    p_pub.add_argument(
        "--on-behalf-of", help="publier pour une commune qui a délégué (jeton admin de l'EPCI)"
    )
    p_pub.add_argument(
        "--json", action="store_true", help="l'état final du dépôt et son rapport en JSON"
    )

    access.add_parsers(commands, _add_remote)
    places.add_parser(commands, _add_remote)
    p_node = commands.add_parser("node", help="un nœud de dépôt relié au hub / an ingest node")
    _add_remote(p_node)
    p_node.add_argument("--name", required=True, help="nom du nœud (ex. roques), déclaré au hub")
    p_node.add_argument(
        "--hub", required=True, help="lien NATS du hub (ex. nats-leaf://hub.example.fr:7422)"
    )
    p_node.add_argument("--port", type=int, default=8081, help="port du dépôt (8081)")
    p_node.add_argument("--nats-port", type=int, default=4223, help="port NATS local (4223)")
    p_node.add_argument("--host", default="127.0.0.1")
    p_nodes = commands.add_parser("nodes", help="les nœuds vus du hub / the hub's nodes")
    p_nodes.add_argument("--url", help="ingest du hub / the hub's ingest URL")
    commands.add_parser("schemas", help="schémas connus / known schemas")

    p_backup = commands.add_parser(
        "backup", help="sauvegarder bases et fichiers / back up databases and files"
    )
    _add_remote(p_backup)
    p_backup.add_argument("folder", type=Path, help="dossier neuf / a new folder")
    p_restore = commands.add_parser(
        "restore", help="restaurer une sauvegarde / restore a backup (platform stopped)"
    )
    _add_remote(p_restore)
    p_restore.add_argument("folder", type=Path, help="dossier de la sauvegarde / backup folder")
    p_restore.add_argument(
        "--replace", action="store_true", help="écraser des bases non vides / overwrite data"
    )

    p_val = commands.add_parser("validate", help="vérifier hors ligne / check offline")
    p_val.add_argument("file", type=Path)
    p_val.add_argument("--schema", help="id (scdl-subventions) ou chemin d'un schema.json")
    p_val.add_argument("--json", action="store_true", help="le rapport complet en JSON")
    p_val.add_argument(
        "--format",
        choices=["text", "json", "html", "validata"],
        default=None,
        help="text (défaut), json, html (page en français), validata",
    )
    p_val.add_argument("--output", type=Path, help="écrire le rapport dans ce fichier")
    _add_reading(p_val)
    _add_fix(p_val)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        _dispatch(args)
    except httpx.TransportError as exc:
        # A service that is stopped, or a wrong address: said in words, never a traceback.
        try:
            url = exc.request.url
            target = f"{url.scheme}://{url.netloc.decode()}"
        except RuntimeError:  # no request attached to the error
            target = "la plateforme"
        print(
            f"Impossible de joindre {target} : la plateforme est-elle démarrée "
            "(« make run » ou « datacommune up ») ? Sinon vérifiez l'adresse (--url ou "
            "DATACOMMUNE_*_URL).\n"
            f"Cannot reach {target}: is the platform running? Otherwise check the address.",
            file=sys.stderr,
        )
        sys.exit(2)


def _dispatch(args: argparse.Namespace) -> None:
    if args.command == "up":
        sys.exit(up.run(var=args.var, demo=not args.no_demo))
    if args.command == "org" and args.org_command == "list":
        sys.exit(access.run_org_list(args))
    if args.command == "dataset":
        sys.exit(access.run_dataset_set(args))
    if args.command == "org" and args.org_command == "move":
        moved = credentials.move_organization(
            var=args.var,
            url=args.url,
            admin_token=args.admin_token,
            slug=args.slug,
            parent=args.parent,
        )
        print(json.dumps(moved, ensure_ascii=False, indent=2))
        return
    if args.command == "org":
        created = credentials.create_organization(
            var=args.var,
            url=args.url,
            admin_token=args.admin_token,
            body={
                "slug": args.slug,
                "name": args.name,
                "kind": args.kind,
                "siren": args.siren,
                "insee_code": args.insee,
                "parent": args.parent,
            },
        )
        print(json.dumps(created, ensure_ascii=False, indent=2))
        return
    if args.command == "publish":
        from datacommune.cli import publish

        sys.exit(
            publish.run(
                args.file,
                dataset=args.dataset,
                schema=args.schema,
                title=args.title,
                encoding=args.encoding,
                delimiter=args.delimiter,
                fix=args.fix,
                on_behalf_of=args.on_behalf_of,
                token=credentials.organization_token(var=args.var, org=args.org, token=args.token),
                url=args.url or os.environ.get("DATACOMMUNE_INGEST_URL") or up.urls()["ingest"],
                timeout=args.timeout,
                as_json=args.json,
            )
        )
    if args.command == "node":
        sys.exit(
            node.run(
                name=args.name,
                hub=args.hub,
                var=args.var,
                port=args.port,
                nats_port=args.nats_port,
                host=args.host,
            )
        )
    if args.command == "nodes":
        sys.exit(node.show(args.url or node.default_hub_ingest()))
    if args.command == "token":
        sys.exit(access.run_token(args))
    if args.command == "delegate" and args.delegate_command == "list":
        sys.exit(access.run_delegate_list(args))
    if args.command == "delegate":
        sys.exit(access.run_delegate(args))
    if args.command == "places":
        sys.exit(
            places.run(
                args.file,
                source=args.source,
                var=args.var,
                url=args.url,
                admin_token=args.admin_token,
            )
        )
    if args.command in ("backup", "restore"):
        from datacommune.cli import backup

        replace = getattr(args, "replace", False)
        sys.exit(backup.run(args.command, args.folder, var=args.var, replace=replace))
    if args.command == "schemas":
        from datacommune.cli import offline

        sys.exit(offline.list_schemas())
    if args.command == "validate":
        from datacommune.cli import offline

        sys.exit(
            offline.run(
                args.file,
                schema=args.schema,
                output_format=args.format or ("json" if args.json else "text"),
                output=args.output,
                fix=args.fix,
                encoding=args.encoding,
                delimiter=args.delimiter,
            )
        )


if __name__ == "__main__":
    main()
