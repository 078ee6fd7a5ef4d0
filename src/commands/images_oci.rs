//! `mydocker images` from step 38: the references of the OCI store's
//! index, as Docker lists them (REPOSITORY TAG IMAGE ID CREATED SIZE; the
//! image ID is the configuration's digest; an image pulled by digest has
//! the tag `<none>`, step 39). SIZE is the unpacked size (the layers'
//! regular files), the same however the image arrived; CREATED is `N/A`
//! for a configuration without a date, as Docker shows them.

use std::path::Path;

use anyhow::Result;

use crate::cli::ImagesArgs;
use crate::fs::oci;

/// `images [-q] [--format json] [REPOSITORY[:TAG]]`: with a reference,
/// only the rows of that repository (and tag), as Docker filters them;
/// `-q` prints only each row's short ID.
pub fn images(root: &Path, args: &ImagesArgs) -> Result<i32> {
    let mut list = oci::list(root)?;
    if let Some(text) = &args.reference {
        let r = oci::Reference::parse(text)?;
        let tagged = text[text.rfind('/').map_or(0, |i| i + 1)..].contains(':');
        list.retain(|i| i.repository == r.name && (!tagged || i.tag.as_ref() == Some(&r.tag)));
    }
    let short = |d: &str| {
        d.trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>()
    };
    let created = |i: &oci::ImageInfo| {
        i.created
            .as_deref()
            .and_then(|c| humantime::parse_rfc3339_weak(c).ok())
            .map(crate::format::format_time)
            // Docker's word for an image whose configuration has no date.
            .unwrap_or_else(|| "N/A".to_string())
    };
    if args.quiet {
        for i in &list {
            println!("{}", short(&i.id));
        }
        return Ok(0);
    }
    if args.json || args.format == "json" {
        for i in &list {
            let row = serde_json::json!({
                "Repository": i.repository,
                "Tag": i.tag.as_deref().unwrap_or("<none>"),
                "ID": i.id,
                "Digest": i.manifest,
                "CreatedAt": i.created,
                "Size": crate::format::human_size(i.size),
                "VirtualSize": i.size,
            });
            println!("{row}");
        }
        return Ok(0);
    }
    let mut rows = vec![[
        "REPOSITORY".to_string(),
        "TAG".into(),
        "IMAGE ID".into(),
        "CREATED".into(),
        "SIZE".into(),
    ]];
    for i in &list {
        rows.push([
            i.repository.clone(),
            i.tag.clone().unwrap_or_else(|| "<none>".into()),
            short(&i.id),
            created(i),
            crate::format::human_size(i.size),
        ]);
    }
    print!("{}", crate::format::table(&rows));
    Ok(0)
}
