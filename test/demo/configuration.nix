# nixboot: health=systemd health=unit:web
# The demo's userdata: a post-bake change to the baked image (a new host name, an /etc file
# and one more service), for the fixture's NixOS-like entry point.
{ config, pkgs, lib, ... }:
{
  networking.hostName = "web-1";
  environment.etc."motd".text = "applied by nixboot at boot\n";
  services.fixture.activeUnits = [ "sshd" "web" ];
}
