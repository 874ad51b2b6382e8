"""Demo documents for `forum seed-demo`: a public deliverable in two versions, a members-only
deliverable and two member contributions, each a small PDF generated here. Idempotent: a
document whose title exists already is left alone."""

from __future__ import annotations

from dataclasses import dataclass

from forum.models import User
from forum.settings import Settings
from knowledge.documents import check_document_fields, do_add_version, do_create_document
from knowledge.models import Document
from knowledge.pdf import make_pdf
from knowledge.storage import spool_bytes


@dataclass(frozen=True)
class DemoDocument:
    uploader: str  # a demo account's username
    title: str
    abstract: str
    authors: str
    doc_type: str
    language: str
    published_on: str
    visibility: str
    deliverable: bool
    technologies: tuple[str, ...]
    file_name: str
    pages: tuple[str, ...]
    second_version: tuple[str, ...] = ()  # the pages of a revised edition, if any


DEMO_DOCUMENTS = [
    DemoDocument(
        "admin", "Artificial intelligence in customs: a study of adoption in WCO Members",
        "How customs administrations use **machine learning** for risk management, "
        "classification and image analysis of scans, what they learnt, and what they plan.\n\n"
        "Based on the 2026 Smart Customs survey and interviews with National Contact Points.",
        "WCO Secretariat, Smart Customs Project", "study", "en", "2026-09-15", "public", True,
        ("ai-ml", "big-data"), "ai-in-customs-study.pdf",
        ("Executive summary. Forty-two administrations answered the survey; twenty-eight use "
         "machine learning in at least one process, most often for risk targeting.",
         "Findings. Label quality matters more than the algorithm; officers stay in the loop; "
         "models drift and need monitoring every quarter."),
        ("Executive summary (revised). Forty-five administrations answered the survey; thirty "
         "use machine learning in at least one process, most often for risk targeting.",
         "Findings. Label quality matters more than the algorithm; officers stay in the loop; "
         "models drift and need monitoring every quarter. Annex: revised 2026 figures."),
    ),
    DemoDocument(
        "admin", "Blockchain for certificates of origin: the pilots reviewed",
        "A review of six pilots of distributed ledgers for certificates of origin: "
        "governance, legal questions and interoperability.",
        "WCO Secretariat", "report", "en", "2026-05-20", "members", True,
        ("blockchain", "legal-frameworks"), "blockchain-origin-pilots.pdf",
        ("Six pilots were reviewed. Four reached production in a limited scope; two stopped "
         "when the legal basis for electronic certificates could not be agreed.",),
    ),
    DemoDocument(
        "member", "Risk targeting with machine learning: our first year",
        "A member's perspective: how we trained a model on five years of seizure data, and "
        "the three lessons we would share with any administration starting out.",
        "Demo Member", "perspective", "en", "2026-03-01", "members", False,
        ("ai-ml",), "risk-targeting-first-year.pdf",
        ("We trained a model on five years of seizure data. Three lessons: label quality, "
         "officers in the loop, and monitoring drift every quarter.",),
    ),
    DemoDocument(
        "member", "Drones pour la surveillance des frontières : étude de cas",
        "Une étude de cas sur l'usage de drones pour surveiller une frontière terrestre : "
        "coûts, autorisations de vol et formation des agents.",
        "Demo Member", "case_study", "fr", "2026-07-10", "members", False,
        ("drones", "geospatial-mapping"), "drones-frontieres.pdf",
        ("Trois drones ont couvert 120 km de frontière pendant six mois. Les autorisations de "
         "vol ont pris plus de temps que l'achat du matériel.",),
    ),
]  # fmt: skip

_NO_LIMIT = 1 << 40  # demo files are small; the limits are for uploads


async def seed_demo_documents(settings: Settings) -> int:
    """Create the demo documents that do not exist yet; returns how many were created."""
    created = 0
    for demo in DEMO_DOCUMENTS:
        uploader = await User.get_or_none(username=demo.uploader)
        if uploader is None or await Document.exists(title=demo.title):
            continue
        fields = await check_document_fields(
            uploader,
            title=demo.title,
            abstract=demo.abstract,
            authors=demo.authors,
            administration="",
            doc_type=demo.doc_type,
            language=demo.language,
            published_on=demo.published_on,
            visibility=demo.visibility,
            is_deliverable=demo.deliverable,
            technologies=list(demo.technologies),
        )
        data = make_pdf(demo.title, list(demo.pages))
        spool = spool_bytes(settings, data, _NO_LIMIT)
        document = await do_create_document(
            settings, uploader, fields, spool, demo.file_name, note="First edition"
        )
        if demo.second_version:
            revised = make_pdf(demo.title, list(demo.second_version))
            await do_add_version(
                settings,
                uploader,
                document,
                spool_bytes(settings, revised, _NO_LIMIT),
                demo.file_name.replace(".pdf", "-v2.pdf"),
                note="Revised figures from the 2026 survey",
            )
        created += 1
    return created
