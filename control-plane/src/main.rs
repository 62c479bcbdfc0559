use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    control_plane::cli::run(control_plane::cli::Cli::parse()).await
}
