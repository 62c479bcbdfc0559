"""The EN 16931 and XRechnung business rules that Ordo's invoices and credit
notes touch, checked by their documented meaning on CII XML.

The official rule sets are Schematron files (CEN's EN16931-CII-validation,
KoSIT's XRechnung-CII-validation) that need an XSLT 2.0 processor; CI has
none and cannot download them. Each rule here is written from its text in
EN 16931-1 and the XRechnung specification (the sentence is kept next to
it) for the parts of the CII syntax our documents use. `MUTATIONS` breaks
each rule in a valid document, so that `validate.py selftest` proves every
check can fail.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
# Any version's guideline: what makes the XRechnung rules apply.
XRECHNUNG_ANY = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_"

TX = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
AGREEMENT = f"{TX}/ram:ApplicableHeaderTradeAgreement"
SELLER = f"{AGREEMENT}/ram:SellerTradeParty"
BUYER = f"{AGREEMENT}/ram:BuyerTradeParty"
SETTLEMENT = f"{TX}/ram:ApplicableHeaderTradeSettlement"
TOTALS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
MEANS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
LINES = f"{TX}/ram:IncludedSupplyChainTradeLineItem"
LINE_TAX = "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
LINE_NET = "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
LINE_PRICE = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount"
LINE_QUANTITY = "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"
BREAKDOWNS = f"{SETTLEMENT}/ram:ApplicableTradeTax"

# UNTDID 1001 document types XRechnung allows (BR-DE-17), UNTDID 4461 payment
# means EN 16931 knows for these groups, UNTDID 5305 VAT categories.
XRECHNUNG_TYPES = {"326", "380", "384", "389", "381", "875", "876", "877"}
CREDIT_TRANSFER = {"30", "58"}
CARD = {"48", "54", "55"}
DIRECT_DEBIT = {"59"}
VAT_CATEGORIES = {"S", "Z", "E", "AE", "K", "G", "O", "L", "M"}
# UN/ECE Recommendation 20 codes Ordo uses, ISO 4217 and ISO 3166-1 codes in use.
UNITS = {"C62", "MON", "DAY", "HUR", "H87"}


class Doc:
    def __init__(self, tree):
        self.tree = tree

    def all(self, path, node=None):
        return (node if node is not None else self.tree).xpath(path, namespaces=NS)

    def text(self, path, node=None):
        found = self.all(path, node)
        return (found[0].text or "").strip() if found else ""

    def has(self, path, node=None):
        return bool(self.text(path, node))

    def amount(self, path, node=None):
        text = self.text(path, node)
        return Decimal(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else None

    def guideline(self):
        return self.text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")

    def lines(self):
        return self.all(LINES)

    def breakdowns(self):
        return self.all(BREAKDOWNS)


def cents(value):
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def iban_ok(iban):
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


RULES = []


def rule(rule_id, meaning, xrechnung_only=False):
    def register(check):
        RULES.append((rule_id, meaning, xrechnung_only, check))
        return check
    return register


# EN 16931-1, the core rules (BR-nn).
rule("BR-01", "An Invoice shall have a Specification identifier (BT-24).")(lambda d: bool(d.guideline()))
rule("BR-02", "An Invoice shall have an Invoice number (BT-1).")(lambda d: d.has("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"))
rule("BR-03", "An Invoice shall have an Invoice issue date (BT-2).")(
    lambda d: re.fullmatch(r"\d{8}", d.text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString[@format='102']")) is not None)
rule("BR-04", "An Invoice shall have an Invoice type code (BT-3).")(lambda d: d.has("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode"))
rule("BR-05", "An Invoice shall have an Invoice currency code (BT-5).")(lambda d: d.text(f"{SETTLEMENT}/ram:InvoiceCurrencyCode") == "EUR")
rule("BR-06", "An Invoice shall contain the Seller name (BT-27).")(lambda d: d.has(f"{SELLER}/ram:Name"))
rule("BR-07", "An Invoice shall contain the Buyer name (BT-44).")(lambda d: d.has(f"{BUYER}/ram:Name"))
rule("BR-08", "An Invoice shall contain the Seller postal address (BG-5).")(lambda d: bool(d.all(f"{SELLER}/ram:PostalTradeAddress")))
rule("BR-09", "The Seller postal address (BG-5) shall contain a Seller country code (BT-40).")(
    lambda d: re.fullmatch(r"[A-Z]{2}", d.text(f"{SELLER}/ram:PostalTradeAddress/ram:CountryID")) is not None)
rule("BR-10", "An Invoice shall contain the Buyer postal address (BG-8).")(lambda d: bool(d.all(f"{BUYER}/ram:PostalTradeAddress")))
rule("BR-11", "The Buyer postal address shall contain a Buyer country code (BT-55).")(
    lambda d: re.fullmatch(r"[A-Z]{2}", d.text(f"{BUYER}/ram:PostalTradeAddress/ram:CountryID")) is not None)
rule("BR-12", "An Invoice shall have the Sum of Invoice line net amount (BT-106).")(lambda d: d.amount(f"{TOTALS}/ram:LineTotalAmount") is not None)
rule("BR-13", "An Invoice shall have the Invoice total amount without VAT (BT-109).")(lambda d: d.amount(f"{TOTALS}/ram:TaxBasisTotalAmount") is not None)
rule("BR-14", "An Invoice shall have the Invoice total amount with VAT (BT-112).")(lambda d: d.amount(f"{TOTALS}/ram:GrandTotalAmount") is not None)
rule("BR-15", "An Invoice shall have the Amount due for payment (BT-115).")(lambda d: d.amount(f"{TOTALS}/ram:DuePayableAmount") is not None)
rule("BR-16", "An Invoice shall have at least one Invoice line (BG-25).")(lambda d: len(d.lines()) >= 1)
rule("BR-21", "Each Invoice line (BG-25) shall have an Invoice line identifier (BT-126).")(
    lambda d: all(d.has("ram:AssociatedDocumentLineDocument/ram:LineID", line) for line in d.lines()))
rule("BR-22", "Each Invoice line (BG-25) shall have an Invoiced quantity (BT-129).")(
    lambda d: all(d.amount(LINE_QUANTITY, line) is not None for line in d.lines()))
rule("BR-23", "An Invoice line (BG-25) shall have an Invoiced quantity unit of measure code (BT-130).")(
    lambda d: all(d.all(LINE_QUANTITY, line) and d.all(LINE_QUANTITY, line)[0].get("unitCode") for line in d.lines()))
rule("BR-24", "Each Invoice line (BG-25) shall have an Invoice line net amount (BT-131).")(
    lambda d: all(d.amount(LINE_NET, line) is not None for line in d.lines()))
rule("BR-25", "Each Invoice line (BG-25) shall contain the Item name (BT-153).")(
    lambda d: all(d.has("ram:SpecifiedTradeProduct/ram:Name", line) for line in d.lines()))
rule("BR-26", "Each Invoice line (BG-25) shall contain the Item net price (BT-146).")(
    lambda d: all(d.amount(LINE_PRICE, line) is not None for line in d.lines()))
rule("BR-27", "The Item net price (BT-146) shall NOT be negative.")(
    lambda d: all((d.amount(LINE_PRICE, line) or 0) >= 0 for line in d.lines()))


@rule("BR-29", "If both Invoicing period start date (BT-73) and end date (BT-74) are given then the end date shall be later or equal to the start date.")
def _(d):
    start = d.text(f"{SETTLEMENT}/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString")
    end = d.text(f"{SETTLEMENT}/ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString")
    return not (start and end) or start <= end


rule("BR-45", "Each VAT breakdown (BG-23) shall have a VAT category taxable amount (BT-116).")(
    lambda d: all(d.amount("ram:BasisAmount", b) is not None for b in d.breakdowns()))
rule("BR-46", "Each VAT breakdown (BG-23) shall have a VAT category tax amount (BT-117).")(
    lambda d: all(d.amount("ram:CalculatedAmount", b) is not None for b in d.breakdowns()))
rule("BR-47", "Each VAT breakdown (BG-23) shall be defined through a VAT category code (BT-118).")(
    lambda d: all(d.text("ram:CategoryCode", b) in VAT_CATEGORIES for b in d.breakdowns()))
rule("BR-48", "Each VAT breakdown (BG-23) shall have a VAT category rate (BT-119), except if the Invoice is not subject to VAT.")(
    lambda d: all(d.amount("ram:RateApplicablePercent", b) is not None or d.text("ram:CategoryCode", b) == "O" for b in d.breakdowns()))
rule("BR-49", "A Payment instruction (BG-16) shall specify the Payment means type code (BT-81).")(
    lambda d: all(d.has("ram:TypeCode", m) for m in d.all(MEANS)))


@rule("BR-50", "A Payment account identifier (BT-84) shall be present if Credit transfer (BG-17) information is provided in the Invoice.")
def _(d):
    accounts = d.all(f"{MEANS}/ram:PayeePartyCreditorFinancialAccount")
    return all(d.has("ram:IBANID", a) or d.has("ram:ProprietaryID", a) for a in accounts)


@rule("BR-55", "Each Preceding Invoice reference (BG-3) shall contain a Preceding Invoice reference (BT-25).")
def _(d):
    references = d.all(f"{SETTLEMENT}/ram:InvoiceReferencedDocument")
    return all(d.has("ram:IssuerAssignedID", r) for r in references)


@rule("BR-61", "If the Payment means type code (BT-81) means SEPA credit transfer, Local credit transfer or Non-SEPA international credit transfer, the Payment account identifier (BT-84) shall be present.")
def _(d):
    return all(
        d.text("ram:TypeCode", m) not in CREDIT_TRANSFER or d.has("ram:PayeePartyCreditorFinancialAccount/ram:IBANID", m)
        for m in d.all(MEANS)
    )


rule("BR-62", "The Seller electronic address (BT-34) shall have a Scheme identifier.")(
    lambda d: all(a.get("schemeID") for a in d.all(f"{SELLER}/ram:URIUniversalCommunication/ram:URIID")))
rule("BR-63", "The Buyer electronic address (BT-49) shall have a Scheme identifier.")(
    lambda d: all(a.get("schemeID") for a in d.all(f"{BUYER}/ram:URIUniversalCommunication/ram:URIID")))

# EN 16931-1, the conditions and calculations (BR-CO-nn).
rule("BR-CO-04", "Each Invoice line (BG-25) shall be categorized with an Invoiced item VAT category code (BT-151).")(
    lambda d: all(d.text(f"{LINE_TAX}/ram:CategoryCode", line) in VAT_CATEGORIES for line in d.lines()))


@rule("BR-CO-09", "The Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48) shall have a prefix in accordance with ISO code ISO 3166-1 alpha-2 by which the country of issue may be identified. Nevertheless, Greece may use the prefix 'EL'.")
def _(d):
    ids = d.all(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA'] | {BUYER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")
    return all(re.match(r"[A-Z]{2}", (i.text or "").strip()) for i in ids)


@rule("BR-CO-10", "Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).")
def _(d):
    return d.amount(f"{TOTALS}/ram:LineTotalAmount") == sum((d.amount(LINE_NET, line) or 0 for line in d.lines()), Decimal(0))


@rule("BR-CO-13", "Invoice total amount without VAT (BT-109) = Σ Invoice line net amount (BT-131) - Sum of allowances on document level (BT-107) + Sum of charges on document level (BT-108).")
def _(d):
    allowances = d.amount(f"{TOTALS}/ram:AllowanceTotalAmount") or 0
    charges = d.amount(f"{TOTALS}/ram:ChargeTotalAmount") or 0
    line_total = sum((d.amount(LINE_NET, line) or 0 for line in d.lines()), Decimal(0))
    return d.amount(f"{TOTALS}/ram:TaxBasisTotalAmount") == line_total - allowances + charges


@rule("BR-CO-14", "Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117).")
def _(d):
    total = d.amount(f"{TOTALS}/ram:TaxTotalAmount[@currencyID=../../ram:InvoiceCurrencyCode]")
    return total == sum((d.amount("ram:CalculatedAmount", b) or 0 for b in d.breakdowns()), Decimal(0))


@rule("BR-CO-15", "Invoice total amount with VAT (BT-112) = Invoice total amount without VAT (BT-109) + Invoice total VAT amount (BT-110).")
def _(d):
    basis = d.amount(f"{TOTALS}/ram:TaxBasisTotalAmount")
    vat = d.amount(f"{TOTALS}/ram:TaxTotalAmount[@currencyID=../../ram:InvoiceCurrencyCode]")
    return basis is not None and vat is not None and d.amount(f"{TOTALS}/ram:GrandTotalAmount") == basis + vat


@rule("BR-CO-16", "Amount due for payment (BT-115) = Invoice total amount with VAT (BT-112) - Paid amount (BT-113) + Rounding amount (BT-114).")
def _(d):
    grand = d.amount(f"{TOTALS}/ram:GrandTotalAmount")
    paid = d.amount(f"{TOTALS}/ram:TotalPrepaidAmount") or 0
    rounding = d.amount(f"{TOTALS}/ram:RoundingAmount") or 0
    return grand is not None and d.amount(f"{TOTALS}/ram:DuePayableAmount") == grand - paid + rounding


@rule("BR-CO-17", "VAT category tax amount (BT-117) = VAT category taxable amount (BT-116) x (VAT category rate (BT-119) / 100), rounded to two decimals.")
def _(d):
    for b in d.breakdowns():
        basis, rate, tax = d.amount("ram:BasisAmount", b), d.amount("ram:RateApplicablePercent", b), d.amount("ram:CalculatedAmount", b)
        if None in (basis, rate, tax) or tax != cents(basis * rate / 100):
            return False
    return True


rule("BR-CO-18", "An Invoice shall at least have one VAT breakdown group (BG-23).")(lambda d: len(d.breakdowns()) >= 1)


@rule("BR-CO-19", "If Invoicing period (BG-14) is used, the Invoicing period start date (BT-73) or the Invoicing period end date (BT-74) shall be filled, or both.")
def _(d):
    periods = d.all(f"{SETTLEMENT}/ram:BillingSpecifiedPeriod")
    return all(d.has("ram:StartDateTime/udt:DateTimeString", p) or d.has("ram:EndDateTime/udt:DateTimeString", p) for p in periods)


@rule("BR-CO-25", "In case the Amount due for payment (BT-115) is positive, either the Payment due date (BT-9) or the Payment terms (BT-20) shall be present.")
def _(d):
    due = d.amount(f"{TOTALS}/ram:DuePayableAmount") or 0
    terms = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"
    return due <= 0 or d.has(f"{terms}/ram:DueDateDateTime/udt:DateTimeString") or d.has(f"{terms}/ram:Description")


@rule("BR-CO-26", "In order for the buyer to automatically identify a supplier, the Seller identifier (BT-29), the Seller legal registration identifier (BT-30) and/or the Seller VAT identifier (BT-31) shall be present.")
def _(d):
    return (d.has(f"{SELLER}/ram:ID") or d.has(f"{SELLER}/ram:GlobalID")
            or d.has(f"{SELLER}/ram:SpecifiedLegalOrganization/ram:ID")
            or d.has(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"))


# EN 16931-1, the standard rate (BR-S-nn).
@rule("BR-S-01", "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is 'Standard rated' shall contain in the VAT breakdown (BG-23) at least one VAT category code (BT-118) equal with 'Standard rated'.")
def _(d):
    standard_lines = any(d.text(f"{LINE_TAX}/ram:CategoryCode", line) == "S" for line in d.lines())
    return not standard_lines or any(d.text("ram:CategoryCode", b) == "S" for b in d.breakdowns())


@rule("BR-S-02", "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is 'Standard rated' shall contain the Seller VAT Identifier (BT-31), the Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier (BT-63).")
def _(d):
    standard_lines = any(d.text(f"{LINE_TAX}/ram:CategoryCode", line) == "S" for line in d.lines())
    return not standard_lines or d.has(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA' or @schemeID='FC']") \
        or d.has(f"{AGREEMENT}/ram:SellerTaxRepresentativeTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")


@rule("BR-S-05", "In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is 'Standard rated' the Invoiced item VAT rate (BT-152) shall be greater than zero.")
def _(d):
    return all((d.amount(f"{LINE_TAX}/ram:RateApplicablePercent", line) or 0) > 0
               for line in d.lines() if d.text(f"{LINE_TAX}/ram:CategoryCode", line) == "S")


@rule("BR-S-08", "For each different value of VAT category rate (BT-119) where the VAT category code (BT-118) is 'Standard rated', the VAT category taxable amount (BT-116) in a VAT breakdown (BG-23) shall equal the sum of Invoice line net amounts (BT-131) plus the sum of document level charge amounts (BT-99) minus the sum of document level allowance amounts (BT-92) where the VAT category code is 'Standard rated' and the VAT rate equals the VAT category rate (BT-119).")
def _(d):
    by_rate = {}
    for line in d.lines():
        if d.text(f"{LINE_TAX}/ram:CategoryCode", line) == "S":
            rate = d.amount(f"{LINE_TAX}/ram:RateApplicablePercent", line)
            by_rate[rate] = by_rate.get(rate, Decimal(0)) + (d.amount(LINE_NET, line) or 0)
    standard = [b for b in d.breakdowns() if d.text("ram:CategoryCode", b) == "S"]
    return len(standard) == len(by_rate) and all(
        d.amount("ram:BasisAmount", b) == by_rate.get(d.amount("ram:RateApplicablePercent", b)) for b in standard)


@rule("BR-S-09", "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is 'Standard rated' shall equal the VAT category taxable amount (BT-116) multiplied by the VAT category rate (BT-119).")
def _(d):
    for b in d.breakdowns():
        if d.text("ram:CategoryCode", b) != "S":
            continue
        basis, rate, tax = d.amount("ram:BasisAmount", b), d.amount("ram:RateApplicablePercent", b), d.amount("ram:CalculatedAmount", b)
        if None in (basis, rate, tax) or tax != cents(basis * rate / 100):
            return False
    return True


rule("BR-S-10", "A VAT breakdown (BG-23) with VAT Category code (BT-118) 'Standard rate' shall not have a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).")(
    lambda d: not any(d.has("ram:ExemptionReason", b) or d.has("ram:ExemptionReasonCode", b)
                      for b in d.breakdowns() if d.text("ram:CategoryCode", b) == "S"))


# EN 16931-1, decimals (BR-DEC-nn) and code lists (BR-CL-nn) our documents use.
@rule("BR-DEC", "The allowed maximum number of decimals for every amount of the document level, the VAT breakdown and the line net amounts is 2.")
def _(d):
    amounts = d.all(f"{TOTALS}/* | {BREAKDOWNS}/ram:BasisAmount | {BREAKDOWNS}/ram:CalculatedAmount | {LINES}/{LINE_NET}")
    return all(re.fullmatch(r"-?\d+(\.\d{1,2})?", (a.text or "").strip()) for a in amounts)


rule("BR-CL-23", "Unit code (BT-130) MUST be coded according to the UN/ECE Recommendation 20.")(
    lambda d: all(q.get("unitCode") in UNITS for q in d.all(f"{LINES}/{LINE_QUANTITY}")))
rule("BR-CL-16", "Payment means (BT-81) in an invoice MUST be coded using UNCL4461 code list.")(
    lambda d: all(d.text("ram:TypeCode", m) in CREDIT_TRANSFER | CARD | DIRECT_DEBIT | {"1", "10", "31", "42", "57", "97", "ZZZ"} for m in d.all(MEANS)))

# XRechnung 3.0 (KoSIT), the German rules (BR-DE-nn).
rule("BR-DE-01", "An invoice must contain information on PAYMENT INSTRUCTIONS (BG-16).", True)(lambda d: bool(d.all(MEANS)))
rule("BR-DE-02", "The element SELLER CONTACT (BG-6) must be transmitted.", True)(lambda d: bool(d.all(f"{SELLER}/ram:DefinedTradeContact")))
rule("BR-DE-03", "The element Seller city (BT-37) must be transmitted.", True)(lambda d: d.has(f"{SELLER}/ram:PostalTradeAddress/ram:CityName"))
rule("BR-DE-04", "The element Seller post code (BT-38) must be transmitted.", True)(lambda d: d.has(f"{SELLER}/ram:PostalTradeAddress/ram:PostcodeCode"))
rule("BR-DE-05", "The element Seller contact point (BT-41) must be transmitted.", True)(
    lambda d: d.has(f"{SELLER}/ram:DefinedTradeContact/ram:PersonName") or d.has(f"{SELLER}/ram:DefinedTradeContact/ram:DepartmentName"))
rule("BR-DE-06", "The element Seller contact telephone number (BT-42) must be transmitted.", True)(
    lambda d: d.has(f"{SELLER}/ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber"))
rule("BR-DE-07", "The element Seller contact email address (BT-43) must be transmitted.", True)(
    lambda d: d.has(f"{SELLER}/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID"))
rule("BR-DE-08", "The element Buyer city (BT-52) must be transmitted.", True)(lambda d: d.has(f"{BUYER}/ram:PostalTradeAddress/ram:CityName"))
rule("BR-DE-09", "The element Buyer post code (BT-53) must be transmitted.", True)(lambda d: d.has(f"{BUYER}/ram:PostalTradeAddress/ram:PostcodeCode"))


@rule("BR-DE-13", "An invoice shall contain exactly one of CREDIT TRANSFER (BG-17), PAYMENT CARD INFORMATION (BG-18) or DIRECT DEBIT (BG-19).", True)
def _(d):
    groups = [bool(d.all(f"{MEANS}/ram:PayeePartyCreditorFinancialAccount")),
              bool(d.all(f"{MEANS}/ram:ApplicableTradeSettlementFinancialCard")),
              bool(d.all(f"{MEANS}/ram:PayerPartyDebtorFinancialAccount"))]
    return sum(groups) == 1


rule("BR-DE-14", "The element VAT category rate (BT-119) must be transmitted.", True)(
    lambda d: all(d.amount("ram:RateApplicablePercent", b) is not None for b in d.breakdowns()))
rule("BR-DE-15", "The element Buyer reference (BT-10) must be transmitted.", True)(lambda d: d.has(f"{AGREEMENT}/ram:BuyerReference"))


@rule("BR-DE-16", "If one of the VAT codes S, Z, E, AE, K, G, L, or M is used, an invoice must contain at least one of the elements Seller VAT identifier (BT-31), Seller tax registration identifier (BT-32) or SELLER TAX REPRESENTATIVE PARTY (BG-11).", True)
def _(d):
    codes = {d.text("ram:CategoryCode", b) for b in d.breakdowns()}
    return not (codes & {"S", "Z", "E", "AE", "K", "G", "L", "M"}) or d.has(
        f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA' or @schemeID='FC']") or bool(
        d.all(f"{AGREEMENT}/ram:SellerTaxRepresentativeTradeParty"))


rule("BR-DE-17", "The document type code (BT-3) must be one of 326, 380, 384, 389, 381, 875, 876, 877.", True)(
    lambda d: d.text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode") in XRECHNUNG_TYPES)
rule("BR-DE-18", "Payment terms (BT-20) that carry cash discounts follow the #SKONTO# format; ours carry none, so no line starts with '#'.", True)(
    lambda d: not any(line.strip().startswith("#") for line in d.text(f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:Description").splitlines()))
rule("BR-DE-19", "The Payment account identifier (BT-84) of a SEPA credit transfer should be a correct IBAN.", True)(
    lambda d: all(iban_ok((i.text or "").strip()) for i in d.all(f"{MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID")))
rule("BR-DE-20", "The Debited account identifier (BT-91) of a SEPA direct debit should be a correct IBAN.", True)(
    lambda d: all(iban_ok((i.text or "").strip()) for i in d.all(f"{MEANS}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID")))
rule("BR-DE-21", "The Specification identifier (BT-24) should be XRechnung's.", True)(lambda d: d.guideline() == XRECHNUNG)


@rule("BR-DE-23", "If the Payment means type code (BT-81) is 30 or 58, CREDIT TRANSFER (BG-17) must be given and neither PAYMENT CARD INFORMATION (BG-18) nor DIRECT DEBIT (BG-19).", True)
def _(d):
    for m in d.all(MEANS):
        if d.text("ram:TypeCode", m) in CREDIT_TRANSFER:
            if not d.all("ram:PayeePartyCreditorFinancialAccount", m) or d.all("ram:ApplicableTradeSettlementFinancialCard", m) \
                    or d.all("ram:PayerPartyDebtorFinancialAccount", m):
                return False
    return True


@rule("BR-DE-25", "If the Payment means type code (BT-81) is 59, DIRECT DEBIT (BG-19) must be given and neither CREDIT TRANSFER (BG-17) nor PAYMENT CARD INFORMATION (BG-18).", True)
def _(d):
    for m in d.all(MEANS):
        if d.text("ram:TypeCode", m) in DIRECT_DEBIT:
            if not d.all("ram:PayerPartyDebtorFinancialAccount", m) or d.all("ram:PayeePartyCreditorFinancialAccount", m) \
                    or d.all("ram:ApplicableTradeSettlementFinancialCard", m):
                return False
    return True


rule("BR-DE-27", "The Seller contact telephone number (BT-42) should contain at least three digits.", True)(
    lambda d: len(re.findall(r"\d", d.text(f"{SELLER}/ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber"))) >= 3)
rule("BR-DE-28", "The Seller contact email address (BT-43) should contain exactly one @, not at either end, and no leading or trailing dot.", True)(
    lambda d: re.fullmatch(r"[^@\s.][^@\s]*@[^@\s]*[^@\s.]", d.text(f"{SELLER}/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID")) is not None)


@rule("BR-DE-30", "If DIRECT DEBIT (BG-19) is given, the Bank assigned creditor identifier (BT-90) must be transmitted.", True)
def _(d):
    return not d.all(f"{MEANS}/ram:PayerPartyDebtorFinancialAccount") or d.has(f"{SETTLEMENT}/ram:CreditorReferenceID")


@rule("BR-DE-31", "If DIRECT DEBIT (BG-19) is given, the Debited account identifier (BT-91) must be transmitted.", True)
def _(d):
    debit = any(d.text("ram:TypeCode", m) in DIRECT_DEBIT for m in d.all(MEANS))
    return not debit or d.has(f"{MEANS}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID")


def check(xml_bytes):
    """The rules a document breaks: (rule, meaning) pairs; empty when it passes."""
    doc = Doc(etree.fromstring(xml_bytes))
    xrechnung = doc.guideline().startswith(XRECHNUNG_ANY)
    broken = []
    for rule_id, meaning, xrechnung_only, test in RULES:
        if xrechnung_only and not xrechnung:
            continue
        try:
            ok = test(doc)
        except (ArithmeticError, ValueError, TypeError):
            ok = False
        if not ok:
            broken.append((rule_id, meaning))
    return broken


# How to break each rule in a valid document (for the self-test): an XPath
# and what to do there. "remove" drops the element, ("text", value) or
# ("attr", name, value) changes it.
MUTATIONS = {
    "BR-01": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", ("text", "")),
    "BR-02": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID", ("text", "")),
    "BR-03": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", ("text", "2026-12-01")),
    "BR-04": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode", ("text", "")),
    "BR-05": (f"{SETTLEMENT}/ram:InvoiceCurrencyCode", ("text", "")),
    "BR-06": (f"{SELLER}/ram:Name", "remove"),
    "BR-07": (f"{BUYER}/ram:Name", "remove"),
    "BR-08": (f"{SELLER}/ram:PostalTradeAddress", "remove"),
    "BR-09": (f"{SELLER}/ram:PostalTradeAddress/ram:CountryID", ("text", "Deutschland")),
    "BR-10": (f"{BUYER}/ram:PostalTradeAddress", "remove"),
    "BR-11": (f"{BUYER}/ram:PostalTradeAddress/ram:CountryID", "remove"),
    "BR-12": (f"{TOTALS}/ram:LineTotalAmount", "remove"),
    "BR-13": (f"{TOTALS}/ram:TaxBasisTotalAmount", "remove"),
    "BR-14": (f"{TOTALS}/ram:GrandTotalAmount", "remove"),
    "BR-15": (f"{TOTALS}/ram:DuePayableAmount", "remove"),
    "BR-16": (LINES, "remove"),
    "BR-21": (f"{LINES}/ram:AssociatedDocumentLineDocument/ram:LineID", ("text", "")),
    "BR-22": (f"{LINES}/{LINE_QUANTITY}", ("text", "")),
    "BR-23": (f"{LINES}/{LINE_QUANTITY}", ("attr", "unitCode", "")),
    "BR-24": (f"{LINES}/{LINE_NET}", ("text", "")),
    "BR-25": (f"{LINES}/ram:SpecifiedTradeProduct/ram:Name", ("text", "")),
    "BR-26": (f"{LINES}/{LINE_PRICE}", ("text", "")),
    "BR-27": (f"{LINES}/{LINE_PRICE}", ("text", "-1.00")),
    "BR-29": (f"{SETTLEMENT}/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString", ("text", "29991231")),
    "BR-45": (f"{BREAKDOWNS}/ram:BasisAmount", ("text", "")),
    "BR-46": (f"{BREAKDOWNS}/ram:CalculatedAmount", ("text", "")),
    "BR-47": (f"{BREAKDOWNS}/ram:CategoryCode", ("text", "X")),
    "BR-48": (f"{BREAKDOWNS}/ram:RateApplicablePercent", ("text", "")),
    "BR-49": (f"{MEANS}/ram:TypeCode", ("text", "")),
    "BR-50": (f"{MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID", ("text", "")),
    "BR-55": ("credit_note", f"{SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID", ("text", "")),
    "BR-61": (f"{MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID", "remove"),
    "BR-62": (f"{SELLER}/ram:URIUniversalCommunication/ram:URIID", ("attr", "schemeID", "")),
    "BR-63": (f"{BUYER}/ram:URIUniversalCommunication/ram:URIID", ("attr", "schemeID", "")),
    "BR-CO-04": (f"{LINES}/{LINE_TAX}/ram:CategoryCode", ("text", "")),
    "BR-CO-09": (f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']", ("text", "123456789")),
    "BR-CO-10": (f"{TOTALS}/ram:LineTotalAmount", ("text", "0.01")),
    "BR-CO-13": (f"{TOTALS}/ram:TaxBasisTotalAmount", ("text", "0.01")),
    "BR-CO-14": (f"{TOTALS}/ram:TaxTotalAmount", ("text", "0.01")),
    "BR-CO-15": (f"{TOTALS}/ram:GrandTotalAmount", ("text", "0.01")),
    "BR-CO-16": (f"{TOTALS}/ram:DuePayableAmount", ("text", "0.01")),
    "BR-CO-17": (f"{BREAKDOWNS}/ram:CalculatedAmount", ("text", "0.01")),
    "BR-CO-18": (BREAKDOWNS, "remove"),
    "BR-CO-19": (f"{SETTLEMENT}/ram:BillingSpecifiedPeriod/*", "remove"),
    "BR-CO-25": (f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms", "remove"),
    "BR-CO-26": ("seller_identifiers", f"{SELLER}/ram:SpecifiedLegalOrganization | {SELLER}/ram:SpecifiedTaxRegistration[ram:ID/@schemeID='VA']", "remove"),
    "BR-S-01": (f"{BREAKDOWNS}/ram:CategoryCode", ("text", "Z")),
    "BR-S-02": (f"{SELLER}/ram:SpecifiedTaxRegistration", "remove"),
    "BR-S-05": (f"{LINES}/{LINE_TAX}/ram:RateApplicablePercent", ("text", "0.00")),
    "BR-S-08": (f"{BREAKDOWNS}/ram:BasisAmount", ("text", "0.01")),
    "BR-S-09": (f"{BREAKDOWNS}/ram:CalculatedAmount", ("text", "0.02")),
    "BR-S-10": (f"{BREAKDOWNS}/ram:CategoryCode", ("after", "ram:ExemptionReason", "steuerfrei")),
    "BR-DEC": (f"{TOTALS}/ram:LineTotalAmount", ("text", "1.005")),
    "BR-CL-23": (f"{LINES}/{LINE_QUANTITY}", ("attr", "unitCode", "STK")),
    "BR-CL-16": (f"{MEANS}/ram:TypeCode", ("text", "999")),
    "BR-DE-01": (MEANS, "remove"),
    "BR-DE-02": (f"{SELLER}/ram:DefinedTradeContact", "remove"),
    "BR-DE-03": (f"{SELLER}/ram:PostalTradeAddress/ram:CityName", "remove"),
    "BR-DE-04": (f"{SELLER}/ram:PostalTradeAddress/ram:PostcodeCode", "remove"),
    "BR-DE-05": (f"{SELLER}/ram:DefinedTradeContact/ram:PersonName", "remove"),
    "BR-DE-06": (f"{SELLER}/ram:DefinedTradeContact/ram:TelephoneUniversalCommunication", "remove"),
    "BR-DE-07": (f"{SELLER}/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication", "remove"),
    "BR-DE-08": (f"{BUYER}/ram:PostalTradeAddress/ram:CityName", "remove"),
    "BR-DE-09": (f"{BUYER}/ram:PostalTradeAddress/ram:PostcodeCode", "remove"),
    "BR-DE-13": (f"{MEANS}/ram:PayeePartyCreditorFinancialAccount", "remove"),
    "BR-DE-14": (f"{BREAKDOWNS}/ram:RateApplicablePercent", "remove"),
    "BR-DE-15": (f"{AGREEMENT}/ram:BuyerReference", "remove"),
    "BR-DE-16": (f"{SELLER}/ram:SpecifiedTaxRegistration", "remove"),
    "BR-DE-17": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode", ("text", "383")),
    "BR-DE-18": (f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:Description", ("text", "#SKONTO#TAGE=7#PROZENT=2.00#")),
    "BR-DE-19": (f"{MEANS}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID", ("text", "DE00370400440532013000")),
    "BR-DE-20": ("direct_debit", f"{MEANS}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID", ("text", "DE00120300000000202051")),
    "BR-DE-21": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", ("text", "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.0")),
    "BR-DE-23": ("credit_transfer", f"{MEANS}/ram:TypeCode", ("after", "ram:PayerPartyDebtorFinancialAccount", None)),
    "BR-DE-25": ("direct_debit", f"{MEANS}/ram:PayerPartyDebtorFinancialAccount", "remove"),
    "BR-DE-27": (f"{SELLER}/ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber", ("text", "Zentrale")),
    "BR-DE-28": (f"{SELLER}/ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID", ("text", "rechnung@@ordo.example")),
    "BR-DE-30": ("direct_debit", f"{SETTLEMENT}/ram:CreditorReferenceID", "remove"),
    "BR-DE-31": ("direct_debit", f"{MEANS}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID", "remove"),
}


def mutate(xml_bytes, rule_id):
    """The document with `rule_id` broken, or None if this document has
    nothing the mutation needs (e.g. a direct debit rule on a transfer)."""
    mutation = MUTATIONS[rule_id]
    tree = etree.fromstring(xml_bytes)
    doc = Doc(tree)
    needs = None
    if isinstance(mutation[0], str) and not mutation[0].startswith("/"):
        needs, mutation = mutation[0], mutation[1:]
    if needs == "credit_note" and doc.text("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode") != "381":
        return None
    if needs == "direct_debit" and not doc.all(f"{MEANS}/ram:PayerPartyDebtorFinancialAccount"):
        return None
    if needs == "credit_transfer" and not doc.all(f"{MEANS}/ram:PayeePartyCreditorFinancialAccount"):
        return None
    path, action = mutation
    nodes = doc.all(path)
    if not nodes:
        return None
    for node in nodes:
        if action == "remove":
            node.getparent().remove(node)
        elif action[0] == "text":
            node.text = action[1]
        elif action[0] == "attr":
            node.set(action[1], action[2])
        elif action[0] == "after":
            name = action[1].split(":")[1]
            extra = etree.Element(f"{{{NS['ram']}}}{name}")
            if action[2] is not None:
                extra.text = action[2]
            node.addnext(extra)
    return etree.tostring(tree)
