"""Export a triage as FHIR R4-family resources: a QuestionnaireResponse (the answers) and a
RiskAssessment (the ranked differential, urgency and reasons), in a collection Bundle.

fhir.resources (pydantic-validated models) builds them; it ships FHIR R4B (4.3), whose
QuestionnaireResponse and RiskAssessment have the same structure as R4 (4.0.1).

Shape contract
    in:  the dict returned by ``triage.engine.triage``
    out: dict, a JSON-ready FHIR Bundle (type collection) of the two resources
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from .. import __version__
from .knowledge import load_knowledge

QUESTIONNAIRE = "urn:facenerve:questionnaire:triage"
SYSTEM = "urn:facenerve:triage"


def _answer(q_type: str, value: Any) -> list[dict[str, Any]]:
    values = value if isinstance(value, list) else [value]
    if q_type == "number":
        return [{"valueDecimal": v} for v in values]
    return [{"valueCoding": {"system": f"{SYSTEM}:answer", "code": v, "display": v.replace("_", " ")}}
            for v in values]


def to_fhir(result: dict[str, Any]) -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle

    k = load_knowledge()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    qr_id, ra_id = str(uuid.uuid4()), str(uuid.uuid4())
    items = [
        {"linkId": key, "text": k.fields[key].text, "answer": _answer(k.fields[key].type, value)}
        for key, value in {**result["answers"], **result["findings"]}.items()
        if value != []
    ]
    qr = {"resourceType": "QuestionnaireResponse", "id": qr_id, "status": "completed",
          "questionnaire": f"{QUESTIONNAIRE}|1", "authored": now, "item": items or None}
    predictions = [
        {"outcome": {"coding": [{"system": f"{SYSTEM}:condition", "code": d["condition"], "display": d["name"]}],
                     "text": d["name"]},
         "probabilityDecimal": d["score"],
         "rationale": "; ".join(f"{r['text']} [{r['source']}]" for r in d["reasons"] if r["weight"] > 0)[:4000] or None}
        for d in result["differential"] if d["score"] >= 0.01
    ]
    ra = {
        "resourceType": "RiskAssessment", "id": ra_id, "status": "final",
        "subject": {"display": "the person who answered the questionnaire"},
        "occurrenceDateTime": now,
        "method": {"text": f"facenerve {__version__} triage rules (knowledge/rules.yaml)"},
        "basis": [{"reference": f"urn:uuid:{qr_id}"}],
        "prediction": predictions,
        "mitigation": result["advice"]["now"],
        "note": [{"text": f"Urgency: {result['urgency']} ({result['urgency_label']}). "
                          + " ".join(r["text"] for r in result["urgency_reasons"])},
                 {"text": result["disclaimer"]}],
    }
    bundle = Bundle.model_validate({
        "resourceType": "Bundle", "type": "collection", "timestamp": now,
        "entry": [{"fullUrl": f"urn:uuid:{qr_id}", "resource": qr},
                  {"fullUrl": f"urn:uuid:{ra_id}", "resource": ra}],
    })
    import json

    return json.loads(bundle.model_dump_json(exclude_none=True))
