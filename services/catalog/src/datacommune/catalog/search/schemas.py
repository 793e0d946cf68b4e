"""The JSON answers of the search routes, as the OpenAPI document shows them."""

from pydantic import BaseModel, Field

from datacommune.catalog.core.schemas import DatasetSummary


class FacetValue(BaseModel):
    value: str
    count: int = Field(
        description="Les jeux de données trouvés qui l'ont / the datasets found with it"
    )


class SearchResults(BaseModel):
    """Une page de résultats, le total et les facettes / a page of results, the total and the
    facets."""

    total: int
    total_estimated: bool = Field(
        default=False,
        description="Vrai si la recherche était trop large pour être comptée : le total est "
        "une estimation / true when the search was too large to count: the total is estimated",
    )
    facets_estimated: bool = Field(
        default=False,
        description="Vrai si les nombres des facettes sont des estimations / true when the "
        "facet counts are estimated",
    )
    items: list[DatasetSummary]
    facets: dict[str, list[FacetValue]] = Field(
        description="Par facette (organization, theme, licence, schema, format), ses 50 valeurs "
        "les plus fréquentes / per facet, its 50 most frequent values"
    )
    next_cursor: str | None = Field(
        description="À passer en « cursor » pour la page suivante ; aucun à la dernière / "
        "pass it as cursor for the next page; none on the last"
    )
