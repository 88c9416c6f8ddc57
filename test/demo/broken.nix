# A launch that must not go in service: a type error the evaluator catches before anything changes.
{ config, pkgs, lib, ... }:
{
  networking.hostName = 42;
}
