# Sample fleet configuration: the nixboot agent applies this file, passed as
# the instances' userdata, at every launch. Keep it small (EC2 allows 16 KiB
# of userdata, gzip-compressed when needed); bake the heavy parts into the AMI.
# With the agent's default policy (baked) nothing is fetched at boot: whatever
# this configuration needs must already be in the AMI's Nix store.
{ modulesPath, pkgs, ... }:
{
  imports = [ "${modulesPath}/virtualisation/amazon-image.nix" ];

  networking.hostName = "";                    # take the name EC2 assigns
  time.timeZone = "UTC";

  services.nginx = {
    enable = true;
    virtualHosts.default = {
      default = true;
      locations."/".return = "200 'nixboot fleet member\\n'";
    };
  };
  networking.firewall.allowedTCPPorts = [ 80 ];

  environment.systemPackages = [ pkgs.htop ];

  system.stateVersion = "25.05";
}
