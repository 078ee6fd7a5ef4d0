//! `mydocker images` (step 14): the image tars under ROOT/images.

use std::path::Path;

use anyhow::Result;

use crate::cli::ImagesArgs;
use crate::fs::image;

/// A size for people: 1.4MB, 200KB.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

pub fn images(root: &Path, args: &ImagesArgs) -> Result<i32> {
    let list = image::list(root)?;
    if args.json {
        let rows: Vec<_> = list
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.name,
                    "size": i.size,
                    "created": crate::format::format_time(i.created),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let mut rows = vec![["NAME".to_string(), "SIZE".into(), "CREATED".into()]];
    for i in &list {
        rows.push([
            i.name.clone(),
            human_size(i.size),
            crate::format::format_time(i.created),
        ]);
    }
    print!("{}", crate::format::table(&rows));
    Ok(0)
}
