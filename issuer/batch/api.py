"""POST /api/v1/achievements/<id>/results/batch: JSON `{"results": [...], "atomic"?}`, or a CSV
file (`Content-Type: text/csv`, `?atomic=true`). Answered `200 {"items": [...]}`, one per result, in order."""

from __future__ import annotations

from flask import Blueprint, g, request

from issuer import auth
from issuer.api import achievement_by_id, refuse_pathway_results, services
from issuer.batch.rows import CsvInvalid, TooManyRows, read_results
from issuer.batch.services import BatchIssuance
from issuer.bodies import json_body, load
from issuer.db import get_session
from issuer.errors import BadRequest, PayloadTooLarge, ValidationFailed
from schemas.batch import MAX_BATCH_ITEMS, BatchAnswerSchema, BatchCreateSchema

bp = Blueprint("batch", __name__, url_prefix="/api/v1")

# 1,000 results with long evidence narratives are far more than the single route's 1 MiB.
MAX_BATCH_BYTES = 32 * 1024 * 1024


@bp.post("/achievements/<achievement_id>/results/batch")
@auth.token_required
def record_results(achievement_id):
    achievement = achievement_by_id(achievement_id)
    refuse_pathway_results(achievement)
    request.max_content_length = MAX_BATCH_BYTES
    if request.mimetype == "text/csv":
        items, rows, atomic = _csv_items()
    else:
        data = load(BatchCreateSchema(), _envelope())
        items, rows, atomic = data["results"], None, data["atomic"]
    answers = BatchIssuance(get_session(), services(), token=g.token).record(achievement, items, atomic=atomic, rows=rows)
    return BatchAnswerSchema().dump({"items": [answer.view() for answer in answers]})


def _envelope() -> dict:
    body = json_body(refuse_nul=False)
    results = body.get("results")
    if isinstance(results, list) and len(results) > MAX_BATCH_ITEMS:
        raise PayloadTooLarge("batch_too_large",
                              f"at most {MAX_BATCH_ITEMS:,} results per batch; this one has {len(results):,}")
    if isinstance(results, list) and not results:
        raise ValidationFailed({"results": ["Give at least one result."]})
    return body


def _csv_items() -> tuple[list[dict], list[int], bool]:
    atomic = request.args.get("atomic", "false").lower()
    if atomic not in ("true", "false"):
        raise ValidationFailed({"atomic": ["Not a valid boolean: use true or false."]})
    try:
        parsed = read_results(request.get_data(cache=False), max_rows=MAX_BATCH_ITEMS)
    except TooManyRows:
        raise PayloadTooLarge("batch_too_large", f"at most {MAX_BATCH_ITEMS:,} rows per upload") from None
    except CsvInvalid as error:
        raise BadRequest("csv_invalid", str(error)) from None
    if not parsed.items:
        raise BadRequest("csv_invalid", "the file has a header but no rows")
    return parsed.items, parsed.rows, atomic == "true"
