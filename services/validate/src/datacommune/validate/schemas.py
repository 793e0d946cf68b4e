"""The JSON answers of validate's routes, as the OpenAPI document shows them.

What a route copies from a schema's descriptor is sent as the descriptor has it: a string in a
well-formed Table Schema, but the registry keeps a defective schema rather than refuse it
(``registry.load_entry``), and its documentation is still served.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

# Documented as the Table Schema has it; any JSON value passes.
DescriptorText = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]


class Schema(BaseModel):
    """A schema the validator knows."""

    id: str = Field(examples=["scdl-subventions@2.1.1"])
    name: str
    version: str
    title: str
    description: str
    fields_count: int
    warnings: list[str] = Field(description="What the registry mended in the schema")


class Schemas(BaseModel):
    items: list[Schema]


class SchemaField(BaseModel):
    """A field's documentation, as a person choosing a schema reads it."""

    name: DescriptorText
    title: DescriptorText
    type: DescriptorText = Field(examples=["string"])
    description: DescriptorText
    required: bool
    example: Any = Field(description="As the schema gives it, any JSON value")


class SchemaWithFields(Schema):
    fields: list[SchemaField]


class TableSchema(RootModel[dict[str, Any]]):
    """The Table Schema validation applies, defects mended
    (https://specs.frictionlessdata.io/table-schema/)."""

    model_config = ConfigDict(
        json_schema_extra={
            "properties": {"fields": {"type": "array", "items": {"type": "object"}}},
        }
    )
