//! Printable documents as PDF/A-3b: A4 pages of text and lines, laid out by
//! [`layout`], written with embedded font subsets (DejaVu Sans), an sRGB output
//! intent and XMP metadata, optionally with attached files (the Factur-X XML).
//! Nothing here knows about invoices, so the usage contract can be printed the
//! same way.

pub mod layout;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Timelike, Utc};
use pdf_writer::types::{AssociationKind, CidFontType, FontFlags, OutputIntentSubtype, SystemInfo};
use pdf_writer::writers::EmbeddedFile;
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;

pub use layout::{Align, Document, Flow, Rgb, Table, TableColumn, TextStyle};

const SRGB_PROFILE: &[u8] = include_bytes!("../../assets/icc/sRGB.icc");

/// The two faces every document uses; both are embedded as subsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FontStyle {
    Regular,
    Bold,
}

impl FontStyle {
    const ALL: [FontStyle; 2] = [FontStyle::Regular, FontStyle::Bold];

    pub fn face(self) -> &'static FontFace {
        match self {
            FontStyle::Regular => &REGULAR,
            FontStyle::Bold => &BOLD,
        }
    }

    fn resource_name(self) -> Name<'static> {
        match self {
            FontStyle::Regular => Name(b"F1"),
            FontStyle::Bold => Name(b"F2"),
        }
    }
}

static REGULAR: LazyLock<FontFace> =
    LazyLock::new(|| FontFace::load(include_bytes!("../../assets/fonts/DejaVuSans.ttf"), "DejaVuSans", 87.0));
static BOLD: LazyLock<FontFace> = LazyLock::new(|| {
    FontFace::load(include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf"), "DejaVuSans-Bold", 150.0)
});

/// A TrueType font and the metrics the PDF needs from it.
pub struct FontFace {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    name: &'static str,
    stem_v: f32,
    fallback: u16,
}

impl FontFace {
    fn load(data: &'static [u8], name: &'static str, stem_v: f32) -> FontFace {
        let face = ttf_parser::Face::parse(data, 0).expect("the bundled font parses");
        let fallback = face.glyph_index('?').expect("the bundled font has a question mark").0;
        FontFace { data, face, name, stem_v, fallback }
    }

    /// The glyph of a character; a character the font lacks prints as `?`, because
    /// PDF/A forbids showing the `.notdef` glyph.
    pub fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map(|g| g.0).filter(|&g| g != 0).unwrap_or(self.fallback)
    }

    /// The advance of a glyph in thousandths of the font size.
    fn advance(&self, glyph: u16) -> f32 {
        let units = self.face.glyph_hor_advance(ttf_parser::GlyphId(glyph)).unwrap_or(0);
        f32::from(units) * 1000.0 / f32::from(self.face.units_per_em())
    }

    /// The width of a line of text at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(self.glyph(c))).sum::<f32>() * size / 1000.0
    }

    fn scaled(&self, units: i16) -> f32 {
        f32::from(units) * 1000.0 / f32::from(self.face.units_per_em())
    }
}

/// The glyphs a document uses of one face, numbered as they will be in the subset.
#[derive(Default)]
pub(crate) struct GlyphSet {
    remapper: GlyphRemapper,
    /// Subset glyph id → the character it shows, for copying text out of the PDF.
    unicode: BTreeMap<u16, char>,
}

impl GlyphSet {
    /// Encodes text as two-byte subset glyph ids (Identity-H).
    pub(crate) fn encode(&mut self, face: &FontFace, text: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = face.glyph(c);
            let id = self.remapper.remap(glyph);
            let shown = if glyph == face.fallback { '?' } else { c };
            self.unicode.entry(id).or_insert(shown);
            bytes.extend_from_slice(&id.to_be_bytes());
        }
        bytes
    }
}

/// Document information, written to both the info dictionary and XMP, as PDF/A requires.
pub struct Metadata<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub subject: &'a str,
    /// BCP 47, e.g. `de-DE`.
    pub language: &'a str,
    pub created: DateTime<Utc>,
    /// Further `rdf:Description` elements for the XMP packet (e.g. Factur-X's).
    pub extra_xmp: &'a str,
}

/// A file attached to the document (PDF/A-3 associated file).
pub struct Attachment<'a> {
    pub name: &'a str,
    pub description: &'a str,
    /// A MIME type such as `text/xml`.
    pub mime_type: &'a str,
    pub data: &'a [u8],
    pub relationship: Relationship,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    /// The file holds the data the visible document was made from.
    Data,
    /// The file is another representation of the document.
    Alternative,
}

const A4_WIDTH: f32 = 595.276;
const A4_HEIGHT: f32 = 841.89;

/// Writes the pages as a PDF/A-3b file.
pub fn write(document: Document, metadata: &Metadata<'_>, attachments: &[Attachment<'_>]) -> Vec<u8> {
    let (pages, mut glyphs) = document.into_parts();
    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    let mut next = Ref::new(1);
    let mut alloc = || next.bump();

    let catalog_id = alloc();
    let page_tree_id = alloc();
    let info_id = alloc();
    let metadata_id = alloc();
    let icc_id = alloc();

    // Fonts: one Type 0 font with a CID subset per face that the pages use.
    let mut font_ids = BTreeMap::new();
    for style in FontStyle::ALL {
        let Some(set) = glyphs.remove(&style) else { continue };
        let type0_id = alloc();
        write_font(&mut pdf, &mut alloc, type0_id, style.face(), &set);
        font_ids.insert(style, type0_id);
    }

    let page_ids: Vec<Ref> = pages.iter().map(|_| alloc()).collect();
    for (page, &page_id) in pages.iter().zip(&page_ids) {
        let content_id = alloc();
        let mut content = Content::new();
        page.draw(&mut content);
        let compressed = deflate(&content.finish());
        pdf.stream(content_id, &compressed).filter(Filter::FlateDecode);
        let mut writer = pdf.page(page_id);
        writer.parent(page_tree_id).media_box(Rect::new(0.0, 0.0, A4_WIDTH, A4_HEIGHT)).contents(content_id);
        let mut resources = writer.resources();
        let mut fonts = resources.fonts();
        for (style, id) in &font_ids {
            fonts.pair(style.resource_name(), *id);
        }
    }
    pdf.pages(page_tree_id).kids(page_ids.iter().copied()).count(page_ids.len() as i32);

    let compressed_profile = deflate(SRGB_PROFILE);
    pdf.icc_profile(icc_id, &compressed_profile).n(3).range([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]).filter(Filter::FlateDecode);

    let mut attachment_ids = Vec::new();
    for attachment in attachments {
        let (spec_id, file_id) = (alloc(), alloc());
        let mut file: EmbeddedFile = pdf.embedded_file(file_id, attachment.data);
        file.subtype(Name(attachment.mime_type.as_bytes()));
        file.params().size(attachment.data.len() as i32).modification_date(pdf_date(metadata.created));
        file.finish();
        let mut spec = pdf.file_spec(spec_id);
        spec.path(Str(attachment.name.as_bytes()))
            .unic_file(TextStr(attachment.name))
            .description(TextStr(attachment.description))
            .embedded_file_with_unicode(file_id)
            .association_kind(match attachment.relationship {
                Relationship::Data => AssociationKind::Data,
                Relationship::Alternative => AssociationKind::Alternative,
            });
        spec.finish();
        attachment_ids.push((attachment.name, spec_id));
    }

    let xmp = xmp_packet(metadata);
    pdf.metadata(metadata_id, xmp.as_bytes());
    pdf.document_info(info_id)
        .title(TextStr(metadata.title))
        .author(TextStr(metadata.author))
        .subject(TextStr(metadata.subject))
        .creator(TextStr(PRODUCER))
        .producer(TextStr(PRODUCER))
        .creation_date(pdf_date(metadata.created))
        .modified_date(pdf_date(metadata.created));

    let mut catalog = pdf.catalog(catalog_id);
    catalog.pages(page_tree_id).metadata(metadata_id).lang(TextStr(metadata.language));
    catalog
        .output_intents()
        .push()
        .subtype(OutputIntentSubtype::PDFA)
        .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
        .info(TextStr("sRGB IEC61966-2.1"))
        .dest_output_profile(icc_id);
    if !attachment_ids.is_empty() {
        catalog.insert(Name(b"AF")).array().items(attachment_ids.iter().map(|(_, id)| *id));
        let mut names = catalog.names();
        let mut files = names.embedded_files();
        let mut entries = files.names();
        // Name trees are sorted by key.
        let mut sorted = attachment_ids.clone();
        sorted.sort_by_key(|(name, _)| name.as_bytes());
        for (name, id) in sorted {
            entries.insert(Str(name.as_bytes()), id);
        }
    }
    catalog.finish();

    // PDF/A needs a file identifier; derive it from the content so equal input gives equal files.
    let mut hash = Sha256::new();
    hash.update(xmp.as_bytes());
    for attachment in attachments {
        hash.update(attachment.data);
    }
    let id = hash.finalize()[..16].to_vec();
    pdf.set_file_id((id.clone(), id));
    pdf.finish()
}

const PRODUCER: &str = "Ordo";

fn write_font(pdf: &mut Pdf, alloc: &mut impl FnMut() -> Ref, type0_id: Ref, face: &FontFace, set: &GlyphSet) {
    let (cid_id, descriptor_id, cmap_id, file_id) = (alloc(), alloc(), alloc(), alloc());
    let subset = subsetter::subset(face.data, 0, &set.remapper).expect("the bundled font can be subset");
    // A subset's name starts with a tag derived from its glyphs (ISO 32000-1, 9.6.4).
    let digest = Sha256::digest(subset.as_slice());
    let tag: String = digest.iter().take(6).map(|b| char::from(b'A' + b % 26)).collect();
    let base_font = format!("{tag}+{}", face.name);
    let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

    pdf.type0_font(type0_id)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let widths: Vec<f32> = set.remapper.remapped_gids().map(|glyph| face.advance(glyph)).collect();
    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(base_font.as_bytes()))
        .system_info(system_info)
        .font_descriptor(descriptor_id)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, widths);
    cid.finish();

    let bbox = face.face.global_bounding_box();
    let cap_height = face.face.capital_height().unwrap_or(face.face.ascender());
    pdf.font_descriptor(descriptor_id)
        .name(Name(base_font.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            face.scaled(bbox.x_min),
            face.scaled(bbox.y_min),
            face.scaled(bbox.x_max),
            face.scaled(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(face.scaled(face.face.ascender()))
        .descent(face.scaled(face.face.descender()))
        .cap_height(face.scaled(cap_height))
        .stem_v(face.stem_v)
        .font_file2(file_id);

    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system_info);
    for (&id, &c) in &set.unicode {
        cmap.pair(id, c);
    }
    let cmap_data = cmap.finish();
    pdf.cmap(cmap_id, cmap_data.as_slice());

    let compressed = deflate(&subset);
    pdf.stream(file_id, &compressed).filter(Filter::FlateDecode).pair(Name(b"Length1"), subset.len() as i32);
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

fn pdf_date(at: DateTime<Utc>) -> Date {
    Date::new(at.year() as u16)
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Text for XML content and attributes.
fn xml_escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// The packet header; `begin` is the byte order mark, which marks the packet as UTF-8.
const XPACKET_BEGIN: &str = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>";

fn xmp_packet(metadata: &Metadata<'_>) -> String {
    // The same instant as the info dictionary's dates, which pdf-writer writes as UTC `Z`.
    let date = metadata.created.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (title, author, subject, language) = (
        xml_escape(metadata.title),
        xml_escape(metadata.author),
        xml_escape(metadata.subject),
        xml_escape(metadata.language),
    );
    format!(
        r#"{XPACKET_BEGIN}
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>3</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
<dc:language><rdf:Bag><rdf:li>{language}</rdf:li></rdf:Bag></dc:language>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdf:Producer>{PRODUCER}</pdf:Producer>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
<xmp:MetadataDate>{date}</xmp:MetadataDate>
</rdf:Description>
{extra}</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        extra = metadata.extra_xmp,
    )
}
